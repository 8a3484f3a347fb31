// CUDA softmax/log_softmax over contiguous rows, forward and backward: a warp per row up to 1024
// columns, a 512-thread block per row beyond. The same formulas as ops/cpu/softmax.cpp: the row
// max is subtracted first and the sum of exponentials accumulates in double.
#include "cuda/common.cuh"
#include "ops/softmax.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void softmax_kernel(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log) {
  const std::int64_t row = launched_row();
  if (row >= rows) return;  // whole warps only
  const T* xr = x + row * n;
  T* yr = y + row * n;
  T max_value = lowest<T>();
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) max_value = Max{}(max_value, xr[i]);
  max_value = row_reduce(max_value, Max{});
  double total = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) total += math::exp(xr[i] - max_value);
  total = row_reduce(total, Sum{});
  if (log) {
    const T shift = max_value + static_cast<T>(::log(total));
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] - shift;
  } else {
    const T inv = static_cast<T>(1.0 / total);
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = math::exp(xr[i] - max_value) * inv;
  }
}

// dx = y (g - sum(g y)) for softmax, g - exp(y) sum(g) for log_softmax.
template <typename T>
__global__ void softmax_backward_kernel(const T* g, const T* y, T* dx, std::int64_t rows, std::int64_t n, bool log) {
  const std::int64_t row = launched_row();
  if (row >= rows) return;
  const T* gr = g + row * n;
  const T* yr = y + row * n;
  T* dr = dx + row * n;
  double dot = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) dot += log ? gr[i] : gr[i] * yr[i];
  const T total = static_cast<T>(row_reduce(dot, Sum{}));
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x)
    dr[i] = log ? gr[i] - math::exp(yr[i]) * total : yr[i] * (gr[i] - total);
}

void softmax_cuda(const Tensor& x, const Tensor& out, bool log) {
  const std::int64_t n = x.shape().back(), rows = n == 0 ? 0 : x.numel() / n;
  if (rows == 0) return;
  cudaStream_t stream = launch_stream(x.device());
  const RowLaunch launch = row_launch(rows, n);
  dispatch_floating(x.dtype(), "softmax", [&]<typename T>() {
    softmax_kernel<T><<<launch.grid, launch.block, 0, stream>>>(static_cast<const T*>(x.raw_data()),
                                                               static_cast<T*>(out.raw_data()), rows, n, log);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void softmax_backward_cuda(const Tensor& g, const Tensor& y, const Tensor& dx, bool log) {
  const std::int64_t n = g.shape().back(), rows = n == 0 ? 0 : g.numel() / n;
  if (rows == 0) return;
  cudaStream_t stream = launch_stream(g.device());
  const RowLaunch launch = row_launch(rows, n);
  dispatch_floating(g.dtype(), "softmax backward", [&]<typename T>() {
    softmax_backward_kernel<T><<<launch.grid, launch.block, 0, stream>>>(
        static_cast<const T*>(g.raw_data()), static_cast<const T*>(y.raw_data()), static_cast<T*>(dx.raw_data()),
        rows, n, log);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::softmax_stub, DeviceType::CUDA, softmax_cuda);
EMBER_REGISTER_KERNEL(kernels::softmax_backward_stub, DeviceType::CUDA, softmax_backward_cuda);

}  // namespace ember::cuda
