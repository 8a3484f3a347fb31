// How a BLAS (CBLAS on the CPU, cuBLAS on CUDA) reads a strided matrix operand in place: an
// operand whose last two strides fit a leading dimension is passed as is or with the transpose
// flag; only one with neither unit stride is copied. Shared by every backend's matmul kernel so
// their layout rules cannot drift apart.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace ember::kernels {

struct BlasLayout {
  bool trans;        // stored transposed (column-major in row-major terms)
  std::int64_t ld;   // leading dimension
};

// How BLAS can read a rows x cols matrix with the given strides, if at all.
inline std::optional<BlasLayout> blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t s_row,
                                             std::int64_t s_col) {
  if ((cols == 1 || s_col == 1) && (rows == 1 || s_row >= std::max<std::int64_t>(cols, 1)))
    return BlasLayout{false, rows == 1 ? std::max<std::int64_t>(cols, 1) : s_row};
  if ((rows == 1 || s_row == 1) && (cols == 1 || s_col >= std::max<std::int64_t>(rows, 1)))
    return BlasLayout{true, cols == 1 ? std::max<std::int64_t>(rows, 1) : s_col};
  return std::nullopt;
}

// t itself when BLAS can read its last two dims in place, else a contiguous copy; sets layout.
inline Tensor blas_ready(const Tensor& t, std::optional<BlasLayout>& layout) {
  const int d = t.dim();
  layout = blas_layout(t.shape()[d - 2], t.shape()[d - 1], t.strides()[d - 2], t.strides()[d - 1]);
  if (layout) return t;
  Tensor copy = t.contiguous();
  layout = blas_layout(copy.shape()[d - 2], copy.shape()[d - 1], copy.strides()[d - 2], copy.strides()[d - 1]);
  return copy;
}

}  // namespace ember::kernels
