// CUDA kernel for tril/triu: out (contiguous) is x with the elements outside the band zeroed. The
// row and column of an element come from its linear index in out; x is read through its own
// strides, so transposed or sliced inputs need no copy.
#include "cuda/loops.cuh"
#include "ops/shape_ops.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void triangle_kernel(const T* x, T* out, OffsetCalculator<1> calc, std::int64_t first, std::int64_t n,
                                std::int64_t rows, std::int64_t cols, std::int64_t k, bool lower) {
  for (std::int64_t e = global_thread(); e < n; e += global_threads()) {
    const std::int64_t j = (first + e) % cols, i = ((first + e) / cols) % rows;
    const bool keep = lower ? j - i <= k : j - i >= k;
    out[first + e] = keep ? x[calc.get(e)[0]] : T(0);
  }
}

void triangle_cuda(const Tensor& x, const Tensor& out, std::int64_t k, bool lower) {
  if (x.numel() == 0) return;
  const int d = x.dim();
  const std::int64_t rows = x.shape()[d - 2], cols = x.shape()[d - 1];
  cudaStream_t stream = launch_stream(x.device());
  const Layout<1> layout = coalesce<1>(x.shape(), std::array<Shape, 1>{x.strides()});
  dispatch_all(x.dtype(), [&]<typename T>() {
    T* po = static_cast<T*>(out.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    // Output elements are contiguous, so each launch covers a contiguous run of them.
    std::int64_t done = 0;
    for_each_launch<1>(layout, 0, Array<std::int64_t, 1>{}, [&](const OffsetCalculator<1>& calc,
                                                                const Array<std::int64_t, 1>& base, std::int64_t count) {
      triangle_kernel<T><<<grid_size(count), kBlockSize, 0, stream>>>(px + base[0], po, calc, done, count, rows,
                                                                      cols, k, lower);
      EMBER_CUDA_CHECK_LAUNCH();
      done += count;
    });
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::triangle_stub, DeviceType::CUDA, triangle_cuda);

}  // namespace ember::cuda
