// CUDA optimizer kernels: one pass over param, grad and state (all contiguous, one shape), one
// thread per element, the same update formulas as ops/cpu/optim.cpp. Options that are fixed for
// the call are template parameters, so the loop has no per-element branches on them.
#include "cuda/common.cuh"
#include "ops/optim.h"

namespace ember::cuda {
namespace {

using kernels::AdamCoefficients;

template <typename T>
struct SgdScalars {
  T lr, wd, momentum, keep;
  bool first;
};

template <typename T, bool kDecay, bool kMomentum, bool kNesterov>
__global__ void sgd_kernel(T* p, const T* g, T* buf, std::int64_t n, SgdScalars<T> s) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads()) {
    T d = g[i];
    if constexpr (kDecay) d += s.wd * p[i];
    if constexpr (kMomentum) {
      const T b = s.first ? d : s.momentum * buf[i] + s.keep * d;
      buf[i] = b;
      d = kNesterov ? d + s.momentum * b : b;
    }
    p[i] -= s.lr * d;
  }
}

template <typename T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  cudaStream_t stream = launch_stream(param.device());
  T* p = static_cast<T*>(param.raw_data());
  const T* g = static_cast<const T*>(grad.raw_data());
  T* buf = buffer.defined() ? static_cast<T*>(buffer.raw_data()) : nullptr;
  const SgdScalars<T> s{static_cast<T>(o.lr), static_cast<T>(o.weight_decay), static_cast<T>(o.momentum),
                        static_cast<T>(1 - o.dampening), o.first_step};
  auto go = [&]<bool kDecay, bool kMomentum, bool kNesterov>() {
    sgd_kernel<T, kDecay, kMomentum, kNesterov><<<grid_size(n), kBlockSize, 0, stream>>>(p, g, buf, n, s);
    EMBER_CUDA_CHECK_LAUNCH();
  };
  // A zero weight decay is skipped rather than multiplied in, so inf/nan in a parameter does not
  // leak into its update (as on the CPU and in PyTorch).
  const bool decay = o.weight_decay != 0, momentum = o.momentum != 0;
  if (!momentum) return decay ? go.template operator()<true, false, false>() : go.template operator()<false, false, false>();
  if (o.nesterov) return decay ? go.template operator()<true, true, true>() : go.template operator()<false, true, true>();
  return decay ? go.template operator()<true, true, false>() : go.template operator()<false, true, false>();
}

void sgd_cuda(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() { sgd_typed<T>(param, grad, buffer, o); });
}

template <typename T>
struct AdamScalars {
  T l2, decay, one_minus_beta1, beta2, one_minus_beta2, step_size, denom_scale, eps;
};

template <typename T, bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, std::int64_t n, AdamScalars<T> c) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads()) {
    T gi = g[i];
    if constexpr (kL2) gi += c.l2 * p[i];
    T pi = p[i];
    if constexpr (kDecoupled) pi *= c.decay;
    // m moves towards g by (1 - beta1): PyTorch's lerp form of beta1 m + (1 - beta1) g.
    const T mi = m[i] + c.one_minus_beta1 * (gi - m[i]);
    const T vi = c.beta2 * v[i] + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAdaptive) {
      T second = vi;
      if constexpr (kAmsgrad) {
        second = vmax[i] > vi ? vmax[i] : vi;
        vmax[i] = second;
      }
      pi -= c.step_size * mi / (math::sqrt(second) * c.denom_scale + c.eps);
    } else {
      pi -= c.step_size * mi;
    }
    p[i] = pi;
  }
}

template <typename T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  cudaStream_t stream = launch_stream(param.device());
  T* p = static_cast<T*>(param.raw_data());
  const T* g = static_cast<const T*>(grad.raw_data());
  T* m = static_cast<T*>(exp_avg.raw_data());
  T* v = static_cast<T*>(exp_avg_sq.raw_data());
  T* vmax = max_exp_avg_sq.defined() ? static_cast<T*>(max_exp_avg_sq.raw_data()) : nullptr;
  const AdamScalars<T> s{static_cast<T>(c.l2),         static_cast<T>(c.decay),     static_cast<T>(1 - c.beta1),
                         static_cast<T>(c.beta2),      static_cast<T>(1 - c.beta2), static_cast<T>(c.step_size),
                         static_cast<T>(c.denom_scale), static_cast<T>(c.eps)};
  auto go = [&]<bool kL2, bool kDecoupled>() {
    auto launch = [&]<bool kAmsgrad, bool kAdaptive>() {
      adam_kernel<T, kL2, kDecoupled, kAmsgrad, kAdaptive><<<grid_size(n), kBlockSize, 0, stream>>>(p, g, m, v, vmax,
                                                                                                      n, s);
      EMBER_CUDA_CHECK_LAUNCH();
    };
    if (!c.adaptive) return launch.template operator()<false, false>();
    if (c.amsgrad) return launch.template operator()<true, true>();
    return launch.template operator()<false, true>();
  };
  // As for SGD, a zero weight decay is skipped rather than multiplied in.
  if (c.l2 != 0) return go.template operator()<true, false>();
  if (c.decay != 1) return go.template operator()<false, true>();
  return go.template operator()<false, false>();
}

void adam_cuda(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  dispatch_floating(param.dtype(), "Adam", [&]<typename T>() {
    adam_typed<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sgd_step_stub, DeviceType::CUDA, sgd_cuda);
EMBER_REGISTER_KERNEL(kernels::adam_step_stub, DeviceType::CUDA, adam_cuda);

}  // namespace ember::cuda
