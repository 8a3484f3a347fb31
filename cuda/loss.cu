// CUDA cross_entropy forward/backward with the formulas of ops/cpu/loss.cpp. With smoothing s over
// C classes the target distribution is q = (1-s) onehot(t) + s/C, so
//   loss = lse - (1-s) x_t - (s/C) sum_j x_j      and      dx = scale (softmax(x) - q).
// Forward reduces each row (a warp per row up to 1024 classes, a block beyond); backward is one
// thread per logit, recomputing softmax from the saved log-sum-exp.
#include "cuda/common.cuh"
#include "ops/loss.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void cross_entropy_kernel(const T* logits, const std::int64_t* targets, T* loss, T* lse,
                                     std::int64_t rows, std::int64_t C, std::int64_t ignore_index, double smoothing) {
  const std::int64_t row = launched_row();
  if (row >= rows) return;  // whole warps only
  const T* xr = logits + row * C;
  T m = lowest<T>();
  for (std::int64_t j = threadIdx.x; j < C; j += blockDim.x) m = Max{}(m, xr[j]);
  m = row_reduce(m, Max{});
  double total = 0, row_sum = 0;
  for (std::int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    total += math::exp(xr[j] - m);
    row_sum += xr[j];
  }
  total = row_reduce(total, Sum{});
  row_sum = row_reduce(row_sum, Sum{});
  if (threadIdx.x != 0) return;
  const double log_sum_exp = m + ::log(total);
  lse[row] = static_cast<T>(log_sum_exp);
  const std::int64_t t = targets[row];
  loss[row] = t == ignore_index
                  ? T(0)
                  : static_cast<T>(log_sum_exp - (1.0 - smoothing) * xr[t] - smoothing / C * row_sum);
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const std::int64_t* targets, const T* lse, T* dlogits,
                                              std::int64_t rows, std::int64_t C, T scale, T uniform, T on_target,
                                              std::int64_t ignore_index) {
  for (std::int64_t e = global_thread(); e < rows * C; e += global_threads()) {
    const std::int64_t r = e / C, j = e % C, t = targets[r];
    if (t == ignore_index) {
      dlogits[e] = T(0);
      continue;
    }
    T d = scale * (math::exp(logits[e] - lse[r]) - uniform);
    if (j == t) d -= scale * on_target;
    dlogits[e] = d;
  }
}

void cross_entropy_cuda(const Tensor& logits, const Tensor& targets, const Tensor& loss, const Tensor& lse,
                        std::int64_t ignore_index, double smoothing) {
  const std::int64_t rows = targets.numel(), C = logits.size(1);
  if (rows == 0) return;
  cudaStream_t stream = launch_stream(logits.device());
  const RowLaunch launch = row_launch(rows, C);
  dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    cross_entropy_kernel<T><<<launch.grid, launch.block, 0, stream>>>(
        static_cast<const T*>(logits.raw_data()), static_cast<const std::int64_t*>(targets.raw_data()),
        static_cast<T*>(loss.raw_data()), static_cast<T*>(lse.raw_data()), rows, C, ignore_index, smoothing);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void cross_entropy_backward_cuda(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                                 const Tensor& dlogits, double scale, std::int64_t ignore_index, double smoothing) {
  const std::int64_t rows = targets.numel(), C = logits.size(1);
  if (rows * C == 0) return;
  cudaStream_t stream = launch_stream(logits.device());
  dispatch_floating(logits.dtype(), "cross_entropy backward", [&]<typename T>() {
    cross_entropy_backward_kernel<T><<<grid_size(rows * C), kBlockSize, 0, stream>>>(
        static_cast<const T*>(logits.raw_data()), static_cast<const std::int64_t*>(targets.raw_data()),
        static_cast<const T*>(lse.raw_data()), static_cast<T*>(dlogits.raw_data()), rows, C, static_cast<T>(scale),
        static_cast<T>(smoothing / C), static_cast<T>(1.0 - smoothing), ignore_index);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::cross_entropy_stub, DeviceType::CUDA, cross_entropy_cuda);
EMBER_REGISTER_KERNEL(kernels::cross_entropy_backward_stub, DeviceType::CUDA, cross_entropy_backward_cuda);

}  // namespace ember::cuda
