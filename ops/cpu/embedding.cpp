// CPU embedding gather and scatter-add. The scatter runs in index order so duplicate indices
// always sum in the same order; it is parallel over the feature dim, never over indices.
#include <algorithm>

#include "ops/cpu/loops.h"
#include "ops/embedding.h"

namespace ember::cpu {
namespace {

void embedding_cpu(const Tensor& weight, const Tensor& indices, const Tensor& out) {
  const std::int64_t count = indices.numel(), D = weight.size(1);
  const std::int64_t* idx = indices.data_ptr<std::int64_t>();
  dispatch_floating(weight.dtype(), "embedding", [&]<typename T>() {
    const T* w = weight.data_ptr<T>();
    T* o = out.data_ptr<T>();
#pragma omp parallel for schedule(static) if (count * D >= kParallelGrain)
    for (std::int64_t i = 0; i < count; ++i) std::copy(w + idx[i] * D, w + (idx[i] + 1) * D, o + i * D);
  });
}

void embedding_backward_cpu(const Tensor& g, const Tensor& indices, const Tensor& dweight) {
  const std::int64_t count = indices.numel(), D = dweight.size(1);
  const std::int64_t* idx = indices.data_ptr<std::int64_t>();
  dispatch_floating(g.dtype(), "embedding backward", [&]<typename T>() {
    const T* pg = g.data_ptr<T>();
    T* dw = dweight.data_ptr<T>();
    constexpr std::int64_t kBlock = 64;
#pragma omp parallel for schedule(static) if (count * D >= kParallelGrain && D >= 2 * kBlock)
    for (std::int64_t start = 0; start < D; start += kBlock) {
      const std::int64_t end = std::min(D, start + kBlock);
      for (std::int64_t i = 0; i < count; ++i) {
        T* row = dw + idx[i] * D;
        const T* src = pg + i * D;
        for (std::int64_t j = start; j < end; ++j) row[j] += src[j];
      }
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::embedding_stub, DeviceType::CPU, embedding_cpu);
EMBER_REGISTER_KERNEL(kernels::embedding_backward_stub, DeviceType::CPU, embedding_backward_cpu);

}  // namespace ember::cpu
