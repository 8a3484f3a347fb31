// A view of one attention head's (N x cols) matrix inside a (B, H, N, cols) tensor whose last dim
// is unit-stride, for kernels that hand rows to GEMM with a leading dimension.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace ember::cpu {

template <typename T>
struct HeadMatrix {
  T* data;
  std::int64_t ld;  // row stride
  T* row(std::int64_t i) const { return data + i * ld; }
};

template <typename T>
HeadMatrix<T> head(const Tensor& t, std::int64_t b, std::int64_t h) {
  T* base = static_cast<T*>(t.raw_data());
  return {base + b * t.stride(0) + h * t.stride(1), t.stride(2)};
}

}  // namespace ember::cpu
