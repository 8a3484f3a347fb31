// CPU kernel for tril/triu over the last two dims of any-strided input.
#include "ops/shape_ops.h"
#include "ops/cpu/loops.h"

namespace ember::cpu {
namespace {

void triangle_cpu(const Tensor& x, const Tensor& out, std::int64_t k, bool lower) {
  const int d = x.dim();
  const std::int64_t rows = x.shape()[d - 2], cols = x.shape()[d - 1];
  const std::int64_t matrices = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  const Shape batch(x.shape().begin(), x.shape().end() - 2);
  dispatch_all(x.dtype(), [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    const std::int64_t sr = x.strides()[d - 2], sc = x.strides()[d - 1];
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain)
    for (std::int64_t m = 0; m < matrices; ++m) {
      std::int64_t off = 0, rest = m;
      for (int b = static_cast<int>(batch.size()) - 1; b >= 0; --b) {
        off += (rest % batch[b]) * x.strides()[b];
        rest /= batch[b];
      }
      for (std::int64_t i = 0; i < rows; ++i) {
        T* dst = po + (m * rows + i) * cols;
        const T* src = px + off + i * sr;
        for (std::int64_t j = 0; j < cols; ++j) {
          bool keep = lower ? j - i <= k : j - i >= k;
          dst[j] = keep ? src[j * sc] : T(0);
        }
      }
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::triangle_stub, DeviceType::CPU, triangle_cpu);

}  // namespace ember::cpu
