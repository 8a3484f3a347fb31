// The optimizers' per-element updates, written once for ops/cpu/optim.cpp and cuda/optim.cu: each
// backend only walks the elements (an OpenMP loop, a grid-stride loop) and calls these.
//
// The options that are fixed for a call (weight decay or not, momentum, nesterov, amsgrad, ...) are
// template parameters, so the loops have no per-element branches on them; with_sgd_variant and
// with_adam_variant pick the instantiation once per call. The order of the floating operations is
// the contract with tests/test_optim.cpp (values derived from PyTorch): change it and the results
// move in the last bits.
#pragma once

#include <cstdint>

#include "ops/formulas/host_device.h"
#include "ops/optim.h"

namespace ember::formulas {

// SgdStepOptions in the parameter's type.
template <typename T>
struct SgdScalars {
  T lr, weight_decay, momentum, keep;  // keep = 1 - dampening
  bool first_step;

  static SgdScalars from(const SgdStepOptions& o) {
    return {static_cast<T>(o.lr), static_cast<T>(o.weight_decay), static_cast<T>(o.momentum),
            static_cast<T>(1 - o.dampening), o.first_step};
  }
};

// Contiguous tensors of one shape; momentum_buffer is null without momentum.
template <typename T>
struct SgdTensors {
  T* param;
  const T* grad;
  T* momentum_buffer;
};

// Element i of torch.optim.SGD's step (the formula is in ops/optim.h).
template <typename T, bool kDecay, bool kMomentum, bool kNesterov>
EMBER_HOST_DEVICE inline void sgd_update(const SgdTensors<T>& t, std::int64_t i, const SgdScalars<T>& s) {
  T d = t.grad[i];
  if constexpr (kDecay) d += s.weight_decay * t.param[i];
  if constexpr (kMomentum) {
    const T b = s.first_step ? d : s.momentum * t.momentum_buffer[i] + s.keep * d;
    t.momentum_buffer[i] = b;
    d = kNesterov ? d + s.momentum * b : b;
  }
  t.param[i] -= s.lr * d;
}

// Calls go.template operator()<kDecay, kMomentum, kNesterov>() for the options. A zero weight decay
// is skipped rather than multiplied in, so inf/nan in a parameter does not leak into its update
// (as in PyTorch).
template <typename Go>
void with_sgd_variant(const SgdStepOptions& o, Go&& go) {
  const bool decay = o.weight_decay != 0;
  if (o.momentum == 0) {
    if (decay) return go.template operator()<true, false, false>();
    return go.template operator()<false, false, false>();
  }
  if (o.nesterov) {
    if (decay) return go.template operator()<true, true, true>();
    return go.template operator()<false, true, true>();
  }
  if (decay) return go.template operator()<true, true, false>();
  return go.template operator()<false, true, false>();
}

// kernels::AdamCoefficients in the parameter's type.
template <typename T>
struct AdamScalars {
  T l2, decay, one_minus_beta1, beta2, one_minus_beta2, step_size, denom_scale, eps;

  static AdamScalars from(const kernels::AdamCoefficients& c) {
    return {static_cast<T>(c.l2),        static_cast<T>(c.decay),       static_cast<T>(1 - c.beta1),
            static_cast<T>(c.beta2),     static_cast<T>(1 - c.beta2),   static_cast<T>(c.step_size),
            static_cast<T>(c.denom_scale), static_cast<T>(c.eps)};
  }
};

// Contiguous tensors of one shape; max_exp_avg_sq is null without amsgrad.
template <typename T>
struct AdamTensors {
  T* param;
  const T* grad;
  T* exp_avg;
  T* exp_avg_sq;
  T* max_exp_avg_sq;
};

// Element i of the Adam family's step as reduced to kernels::AdamCoefficients (ops/optim.h).
template <typename T, bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>
EMBER_HOST_DEVICE inline void adam_update(const AdamTensors<T>& t, std::int64_t i, const AdamScalars<T>& c) {
  T g = t.grad[i];
  if constexpr (kL2) g += c.l2 * t.param[i];
  T p = t.param[i];
  if constexpr (kDecoupled) p *= c.decay;
  // m moves towards g by (1 - beta1), the same value as beta1 m + (1 - beta1) g (PyTorch's lerp).
  const T m = t.exp_avg[i] + c.one_minus_beta1 * (g - t.exp_avg[i]);
  const T v = c.beta2 * t.exp_avg_sq[i] + c.one_minus_beta2 * g * g;
  t.exp_avg[i] = m;
  t.exp_avg_sq[i] = v;
  if constexpr (kAdaptive) {
    T second = v;
    if constexpr (kAmsgrad) {
      second = t.max_exp_avg_sq[i] < v ? v : t.max_exp_avg_sq[i];  // std::max's choice, also on the GPU
      t.max_exp_avg_sq[i] = second;
    }
    p -= c.step_size * m / (math::sqrt(second) * c.denom_scale + c.eps);
  } else {
    p -= c.step_size * m;
  }
  t.param[i] = p;
}

// Calls go.template operator()<kL2, kDecoupled, kAmsgrad, kAdaptive>() for the coefficients. As for
// SGD, a zero weight decay is skipped rather than multiplied in.
template <typename Go>
void with_adam_variant(const kernels::AdamCoefficients& c, Go&& go) {
  auto decayed = [&]<bool kL2, bool kDecoupled>() {
    if (!c.adaptive) return go.template operator()<kL2, kDecoupled, false, false>();
    if (c.amsgrad) return go.template operator()<kL2, kDecoupled, true, true>();
    return go.template operator()<kL2, kDecoupled, false, true>();
  };
  if (c.l2 != 0) return decayed.template operator()<true, false>();
  if (c.decay != 1) return decayed.template operator()<false, true>();
  return decayed.template operator()<false, false>();
}

}  // namespace ember::formulas
