// CPU optimizer kernels: one flat pass over param, grad and state (all contiguous, one shape),
// split across OpenMP threads for large parameters. Each element's update is independent, so the
// result does not depend on the thread count. Options that are fixed for the call are template
// parameters, so the inner loop has no per-element branches and vectorises.
#include <algorithm>
#include <cmath>

#include "ops/cpu/loops.h"
#include "ops/optim.h"

namespace ember::cpu {
namespace {

using kernels::AdamCoefficients;

template <typename T, bool kDecay, bool kMomentum, bool kNesterov>
void sgd_loop(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  const std::int64_t n = param.numel();
  T* p = param.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  T* buf = kMomentum ? buffer.data_ptr<T>() : nullptr;
  const T lr = static_cast<T>(o.lr), wd = static_cast<T>(o.weight_decay);
  const T momentum = static_cast<T>(o.momentum), keep = static_cast<T>(1 - o.dampening);
  const bool first = o.first_step;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (std::int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if constexpr (kDecay) d += wd * p[i];
    if constexpr (kMomentum) {
      const T b = first ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      d = kNesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

template <typename T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  // Skipping the decay term when it is 0 (rather than adding 0 * p) keeps inf/nan in a parameter
  // from leaking into its update, as in PyTorch.
  const bool decay = o.weight_decay != 0, momentum = o.momentum != 0;
  if (!momentum) {
    if (decay) return sgd_loop<T, true, false, false>(param, grad, buffer, o);
    return sgd_loop<T, false, false, false>(param, grad, buffer, o);
  }
  if (o.nesterov) {
    if (decay) return sgd_loop<T, true, true, true>(param, grad, buffer, o);
    return sgd_loop<T, false, true, true>(param, grad, buffer, o);
  }
  if (decay) return sgd_loop<T, true, true, false>(param, grad, buffer, o);
  return sgd_loop<T, false, true, false>(param, grad, buffer, o);
}

void sgd_cpu(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() { sgd_typed<T>(param, grad, buffer, o); });
}

template <typename T, bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>
void adam_loop(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  const std::int64_t n = param.numel();
  T* p = param.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  T* m = exp_avg.data_ptr<T>();
  T* v = exp_avg_sq.data_ptr<T>();
  T* vmax = kAmsgrad ? max_exp_avg_sq.data_ptr<T>() : nullptr;
  const T l2 = static_cast<T>(c.l2), decay = static_cast<T>(c.decay);
  const T one_minus_beta1 = static_cast<T>(1 - c.beta1);
  const T beta2 = static_cast<T>(c.beta2), one_minus_beta2 = static_cast<T>(1 - c.beta2);
  const T step_size = static_cast<T>(c.step_size), denom_scale = static_cast<T>(c.denom_scale);
  const T eps = static_cast<T>(c.eps);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (std::int64_t i = 0; i < n; ++i) {
    T gi = g[i];
    if constexpr (kL2) gi += l2 * p[i];
    T pi = p[i];
    if constexpr (kDecoupled) pi *= decay;
    // m moves towards g by (1 - beta1), the same value as beta1 m + (1 - beta1) g (PyTorch's lerp).
    const T mi = m[i] + one_minus_beta1 * (gi - m[i]);
    const T vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAdaptive) {
      T second = vi;
      if constexpr (kAmsgrad) {
        second = std::max(vmax[i], vi);
        vmax[i] = second;
      }
      pi -= step_size * mi / (std::sqrt(second) * denom_scale + eps);
    } else {
      pi -= step_size * mi;
    }
    p[i] = pi;
  }
}

template <typename T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  auto go = [&]<bool kL2, bool kDecoupled>() {
    if (!c.adaptive)
      return adam_loop<T, kL2, kDecoupled, false, false>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
    if (c.amsgrad)
      return adam_loop<T, kL2, kDecoupled, true, true>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
    return adam_loop<T, kL2, kDecoupled, false, true>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  };
  // As for SGD, a zero weight decay is skipped rather than multiplied in.
  if (c.l2 != 0) return go.template operator()<true, false>();
  if (c.decay != 1) return go.template operator()<false, true>();
  return go.template operator()<false, false>();
}

void adam_cpu(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
              const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  dispatch_floating(param.dtype(), "Adam", [&]<typename T>() {
    adam_typed<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sgd_step_stub, DeviceType::CPU, sgd_cpu);
EMBER_REGISTER_KERNEL(kernels::adam_step_stub, DeviceType::CPU, adam_cpu);

}  // namespace ember::cpu
