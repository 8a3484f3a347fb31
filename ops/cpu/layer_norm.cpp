// CPU layer_norm. Forward: one pass for mean/variance (in double), one to write y.
// Backward per row with xhat = (x - mean) * rstd and gw = g * weight:
//   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
// dweight = sum over rows of g * xhat and dbias = sum of g, accumulated per thread then combined.
#include <omp.h>

#include <vector>

#include "ops/cpu/loops.h"
#include "ops/layer_norm.h"

namespace ember::cpu {
namespace {

template <typename T>
void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
             const Tensor& mean, const Tensor& rstd) {
  const std::int64_t rows = mean.numel(), n = x.numel() / std::max<std::int64_t>(rows, 1);
  const T* px = x.data_ptr<T>();
  const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
  const T* pb = bias.defined() ? bias.data_ptr<T>() : nullptr;
  T* py = y.data_ptr<T>();
  T* pm = mean.data_ptr<T>();
  T* pr = rstd.data_ptr<T>();
#pragma omp parallel for schedule(static) if (rows * n >= kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = px + r * n;
    double s = 0, ss = 0;
    for (std::int64_t i = 0; i < n; ++i) s += xr[i];
    const double m = s / static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) ss += (xr[i] - m) * (xr[i] - m);
    const T mu = static_cast<T>(m);
    const T rs = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    pm[r] = mu;
    pr[r] = rs;
    T* yr = py + r * n;
    for (std::int64_t i = 0; i < n; ++i) {
      T v = (xr[i] - mu) * rs;
      if (pw) v *= pw[i];
      if (pb) v += pb[i];
      yr[i] = v;
    }
  }
}

template <typename T>
void backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd,
              const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const std::int64_t rows = mean.numel();
  // The normalised size comes from the weight when there is one: with no rows x says nothing, and
  // dweight/dbias must still be written (zeros).
  const Tensor& sized = weight.defined() ? weight : dweight.defined() ? dweight : dbias;
  const std::int64_t n = sized.defined() ? sized.numel() : x.numel() / std::max<std::int64_t>(rows, 1);
  const T* pg = g.data_ptr<T>();
  const T* px = x.data_ptr<T>();
  const T* pm = mean.data_ptr<T>();
  const T* pr = rstd.data_ptr<T>();
  const T* pw = weight.defined() ? weight.data_ptr<T>() : nullptr;
  T* pdx = dx.data_ptr<T>();
  const bool want_dw = dweight.defined(), want_db = dbias.defined();
  const bool parallel = rows * n >= kParallelGrain;
  const int threads = parallel ? omp_get_max_threads() : 1;
  // Per-thread partial sums of dweight and dbias, combined in a fixed order (deterministic).
  std::vector<double> partial_dw(want_dw ? threads * n : 0, 0.0), partial_db(want_db ? threads * n : 0, 0.0);
#pragma omp parallel num_threads(threads) if (parallel)
  {
    const int t = omp_get_thread_num();
    double* tdw = want_dw ? partial_dw.data() + t * n : nullptr;
    double* tdb = want_db ? partial_db.data() + t * n : nullptr;
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* gr = pg + r * n;
      const T* xr = px + r * n;
      T* dr = pdx + r * n;
      const T mu = pm[r], rs = pr[r];
      double sum_gw = 0, sum_gw_xhat = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const T xhat = (xr[i] - mu) * rs;
        const T gw = pw ? gr[i] * pw[i] : gr[i];
        sum_gw += gw;
        sum_gw_xhat += gw * xhat;
        if (tdw) tdw[i] += gr[i] * xhat;
        if (tdb) tdb[i] += gr[i];
      }
      const T mean_gw = static_cast<T>(sum_gw / static_cast<double>(n));
      const T mean_gw_xhat = static_cast<T>(sum_gw_xhat / static_cast<double>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        const T xhat = (xr[i] - mu) * rs;
        const T gw = pw ? gr[i] * pw[i] : gr[i];
        dr[i] = rs * (gw - mean_gw - xhat * mean_gw_xhat);
      }
    }
  }
  auto combine = [&](const std::vector<double>& partial, const Tensor& out) {
    T* po = out.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int t = 0; t < threads; ++t) s += partial[t * n + i];
      po[i] = static_cast<T>(s);
    }
  };
  if (want_dw) combine(partial_dw, dweight);
  if (want_db) combine(partial_db, dbias);
}

void layer_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                    const Tensor& y, const Tensor& mean, const Tensor& rstd) {
  dispatch_floating(x.dtype(), "layer_norm", [&]<typename T>() { forward<T>(x, weight, bias, eps, y, mean, rstd); });
}

void layer_norm_backward_cpu(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                             const Tensor& weight, const Tensor& dx, const Tensor& dweight,
                             const Tensor& dbias) {
  dispatch_floating(x.dtype(), "layer_norm backward", [&]<typename T>() {
    backward<T>(g, x, mean, rstd, weight, dx, dweight, dbias);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::layer_norm_stub, DeviceType::CPU, layer_norm_cpu);
EMBER_REGISTER_KERNEL(kernels::layer_norm_backward_stub, DeviceType::CPU, layer_norm_backward_cpu);

}  // namespace ember::cpu
