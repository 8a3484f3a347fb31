// Fused optimizer updates: one pass over a parameter, its gradient and its state per step.
//
// The optimizers in nn/optim/ call these device-neutral entry points; each checks shapes, dtypes,
// devices and contiguity, then calls the kernel registered for the parameter's device, so a CUDA
// backend only adds kernels. All tensors of one update share shape, dtype (float32 or float64),
// device, and are contiguous; the kernels update param and the state in place.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

// SGD with momentum as torch.optim.SGD:
//   g = grad + weight_decay * param
//   momentum != 0:  buf = first_step ? g : momentum * buf + (1 - dampening) * g
//                   g = nesterov ? g + momentum * buf : buf
//   param -= lr * g
struct SgdStepOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer holds nothing yet: it starts as g, undamped
};

// Adam, AdamW and RAdam as torch.optim, at step `step` (counted from 1):
//   decoupled_weight_decay: param *= 1 - lr * weight_decay      (AdamW; RAdam's option)
//   otherwise:              g = grad + weight_decay * param     (L2, as Adam)
//   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
//   amsgrad: vmax = max(vmax, v), used in place of v below
//   Adam:  param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//   RAdam: rho_inf = 2 / (1 - beta2) - 1,  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
//          rho_t > 5: r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//                     param -= lr r / (1 - beta1^t) * m * sqrt(1 - beta2^t) / (sqrt(v) + eps)
//          otherwise: param -= lr / (1 - beta1^t) * m        (too few steps to trust v)
struct AdamStepOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
  bool rectified = false;  // RAdam
  bool amsgrad = false;    // not with rectified
  std::int64_t step = 1;
};

// param -= lr * (update computed from grad), momentum_buffer undefined when momentum == 0.
void fused_sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                    const SgdStepOptions& options);
// max_exp_avg_sq is undefined unless amsgrad.
void fused_adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                     const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                     const AdamStepOptions& options);

namespace kernels {

// The Adam family reduced to one elementwise formula; fused_adam_step computes these per-step
// scalars on the host so that every backend's kernel is plain elementwise math:
//   g = grad + l2 * param;  param *= decay
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  amsgrad: vmax = max(vmax, v)
//   adaptive:  param -= step_size * m / (sqrt(v or vmax) * denom_scale + eps)
//   otherwise: param -= step_size * m
struct AdamCoefficients {
  double l2, decay, beta1, beta2, step_size, denom_scale, eps;
  bool adaptive, amsgrad;
};

using sgd_step_fn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                             const SgdStepOptions& options);
using adam_step_fn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                              const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                              const AdamCoefficients& c);
extern DispatchStub<sgd_step_fn> sgd_step_stub;
extern DispatchStub<adam_step_fn> adam_step_stub;

}  // namespace kernels

}  // namespace ember
