// CPU cross_entropy forward/backward, one row of logits at a time in parallel.
// With smoothing s over C classes the target distribution is q = (1-s) onehot(t) + s/C, so
//   loss = lse - (1-s) x_t - (s/C) sum_j x_j      and      dx = softmax(x) - q.
#include <algorithm>
#include <cmath>

#include "ops/cpu/loops.h"
#include "ops/loss.h"

namespace ember::cpu {
namespace {

template <typename T>
void forward(const Tensor& logits, const Tensor& targets, const Tensor& loss, const Tensor& lse,
             std::int64_t ignore_index, double smoothing) {
  const std::int64_t rows = targets.numel(), C = logits.size(1);
  const T* x = logits.data_ptr<T>();
  const std::int64_t* t = targets.data_ptr<std::int64_t>();
  T* pl = loss.data_ptr<T>();
  T* pe = lse.data_ptr<T>();
#pragma omp parallel for schedule(static) if (rows * C >= kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T m = *std::max_element(xr, xr + C);
    double total = 0, row_sum = 0;
    for (std::int64_t j = 0; j < C; ++j) {
      total += std::exp(xr[j] - m);
      row_sum += xr[j];
    }
    const double log_sum_exp = m + std::log(total);
    pe[r] = static_cast<T>(log_sum_exp);
    if (t[r] == ignore_index) {
      pl[r] = T(0);
      continue;
    }
    pl[r] = static_cast<T>(log_sum_exp - (1.0 - smoothing) * xr[t[r]] - smoothing / C * row_sum);
  }
}

template <typename T>
void backward(const Tensor& logits, const Tensor& targets, const Tensor& lse, const Tensor& dlogits,
              double scale, std::int64_t ignore_index, double smoothing) {
  const std::int64_t rows = targets.numel(), C = logits.size(1);
  const T* x = logits.data_ptr<T>();
  const std::int64_t* t = targets.data_ptr<std::int64_t>();
  const T* pe = lse.data_ptr<T>();
  T* dx = dlogits.data_ptr<T>();
  const T s = static_cast<T>(scale), uniform = static_cast<T>(smoothing / C);
  const T on_target = static_cast<T>(1.0 - smoothing);
#pragma omp parallel for schedule(static) if (rows * C >= kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    T* dr = dx + r * C;
    if (t[r] == ignore_index) {
      std::fill(dr, dr + C, T(0));
      continue;
    }
    const T* xr = x + r * C;
    for (std::int64_t j = 0; j < C; ++j) dr[j] = s * (std::exp(xr[j] - pe[r]) - uniform);
    dr[t[r]] -= s * on_target;
  }
}

void cross_entropy_cpu(const Tensor& logits, const Tensor& targets, const Tensor& loss, const Tensor& lse,
                       std::int64_t ignore_index, double smoothing) {
  dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    forward<T>(logits, targets, loss, lse, ignore_index, smoothing);
  });
}

void cross_entropy_backward_cpu(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                                const Tensor& dlogits, double scale, std::int64_t ignore_index,
                                double smoothing) {
  dispatch_floating(logits.dtype(), "cross_entropy backward", [&]<typename T>() {
    backward<T>(logits, targets, lse, dlogits, scale, ignore_index, smoothing);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::cross_entropy_stub, DeviceType::CPU, cross_entropy_cpu);
EMBER_REGISTER_KERNEL(kernels::cross_entropy_backward_stub, DeviceType::CPU, cross_entropy_backward_cpu);

}  // namespace ember::cpu
