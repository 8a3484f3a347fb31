// CPU softmax/log_softmax, forward and backward, one contiguous row at a time in parallel.
#include <algorithm>
#include <cmath>

#include "ops/cpu/loops.h"
#include "ops/softmax.h"

namespace ember::cpu {
namespace {

template <typename T>
void softmax_rows(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log) {
#pragma omp parallel for schedule(static) if (rows * n >= kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T max_value = *std::max_element(xr, xr + n);
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      T e = std::exp(xr[i] - max_value);
      total += e;
      if (!log) yr[i] = e;
    }
    if (log) {
      const T shift = max_value + static_cast<T>(std::log(total));
      for (std::int64_t i = 0; i < n; ++i) yr[i] = xr[i] - shift;
    } else {
      const T inv = static_cast<T>(1.0 / total);
      for (std::int64_t i = 0; i < n; ++i) yr[i] *= inv;
    }
  }
}

template <typename T>
void softmax_backward_rows(const T* g, const T* y, T* dx, std::int64_t rows, std::int64_t n, bool log) {
#pragma omp parallel for schedule(static) if (rows * n >= kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* gr = g + r * n;
    const T* yr = y + r * n;
    T* dr = dx + r * n;
    double dot = 0;
    if (log) {
      for (std::int64_t i = 0; i < n; ++i) dot += gr[i];
      for (std::int64_t i = 0; i < n; ++i) dr[i] = gr[i] - std::exp(yr[i]) * static_cast<T>(dot);
    } else {
      for (std::int64_t i = 0; i < n; ++i) dot += gr[i] * yr[i];
      for (std::int64_t i = 0; i < n; ++i) dr[i] = yr[i] * (gr[i] - static_cast<T>(dot));
    }
  }
}

void softmax_cpu(const Tensor& x, const Tensor& out, bool log) {
  const std::int64_t n = x.shape().back(), rows = n == 0 ? 0 : x.numel() / n;
  dispatch_floating(x.dtype(), "softmax", [&]<typename T>() {
    softmax_rows(x.data_ptr<T>(), out.data_ptr<T>(), rows, n, log);
  });
}

void softmax_backward_cpu(const Tensor& g, const Tensor& y, const Tensor& dx, bool log) {
  const std::int64_t n = g.shape().back(), rows = n == 0 ? 0 : g.numel() / n;
  dispatch_floating(g.dtype(), "softmax backward", [&]<typename T>() {
    softmax_backward_rows(g.data_ptr<T>(), y.data_ptr<T>(), dx.data_ptr<T>(), rows, n, log);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::softmax_stub, DeviceType::CPU, softmax_cpu);
EMBER_REGISTER_KERNEL(kernels::softmax_backward_stub, DeviceType::CPU, softmax_backward_cpu);

}  // namespace ember::cpu
