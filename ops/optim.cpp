// Fused optimizer entry points: input checks and the Adam family's per-step scalars, then the
// device's kernel.
#include "ops/optim.h"

#include <cmath>
#include <string_view>

namespace ember {

namespace kernels {
constinit DispatchStub<sgd_step_fn> sgd_step_stub("sgd_step");
constinit DispatchStub<adam_step_fn> adam_step_stub("adam_step");
}  // namespace kernels

namespace {

void check_param(const Tensor& param, std::string_view op) {
  EMBER_CHECK(param.defined(), "{}: the parameter is undefined", op);
  EMBER_CHECK(is_floating(param.dtype()), "{}: parameter of shape {} has dtype {}, expected float32 or float64",
              op, param.shape(), param.dtype());
  EMBER_CHECK(param.is_contiguous(), "{}: parameter of shape {} with strides {} is not contiguous",
              op, param.shape(), param.strides());
}

// `what` (the gradient or a state buffer) must match param exactly: the kernels walk all of them
// with one flat index.
void check_like_param(const Tensor& t, const Tensor& param, std::string_view what, std::string_view op) {
  EMBER_CHECK(t.defined(), "{}: {} is undefined for the parameter of shape {}", op, what, param.shape());
  EMBER_CHECK(t.shape() == param.shape(), "{}: {} of shape {} does not match the parameter of shape {}",
              op, what, t.shape(), param.shape());
  EMBER_CHECK(t.dtype() == param.dtype(), "{}: {} of shape {} has dtype {}, the parameter {}", op,
              what, t.shape(), t.dtype(), param.dtype());
  EMBER_CHECK(t.device() == param.device(), "{}: {} of shape {} is on {}, the parameter on {}", op,
              what, t.shape(), t.device(), param.device());
  EMBER_CHECK(t.is_contiguous(), "{}: {} of shape {} with strides {} is not contiguous", op, what,
              t.shape(), t.strides());
}

// A learning rate set after construction (a group's lr, a scheduler) is checked here too.
void check_lr(double lr, std::string_view op) {
  EMBER_CHECK(std::isfinite(lr) && lr >= 0, "{}: invalid lr {} (expected a finite value >= 0)", op, lr);
}

}  // namespace

void fused_sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                    const SgdStepOptions& options) {
  constexpr std::string_view op = "SGD";
  check_param(param, op);
  check_lr(options.lr, op);
  check_like_param(grad, param, "grad", op);
  EMBER_CHECK(momentum_buffer.defined() == (options.momentum != 0),
              "{}: a momentum buffer is needed exactly when momentum != 0 (momentum {}, parameter {})",
              op, options.momentum, param.shape());
  if (momentum_buffer.defined()) check_like_param(momentum_buffer, param, "momentum_buffer", op);
  EMBER_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "{}: nesterov needs momentum > 0 and dampening 0, got momentum {} and dampening {}", op,
              options.momentum, options.dampening);
  kernels::sgd_step_stub(param.device())(param, grad, momentum_buffer, options);
  for (const Tensor& written : {param, momentum_buffer})
    if (written.defined()) written.storage()->bump_version();
}

void fused_adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                     const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                     const AdamStepOptions& o) {
  const std::string_view op = o.rectified ? "RAdam" : o.decoupled_weight_decay ? "AdamW" : "Adam";
  check_param(param, op);
  check_lr(o.lr, op);
  check_like_param(grad, param, "grad", op);
  check_like_param(exp_avg, param, "exp_avg", op);
  check_like_param(exp_avg_sq, param, "exp_avg_sq", op);
  EMBER_CHECK(!(o.amsgrad && o.rectified), "{}: amsgrad is not defined for RAdam", op);
  EMBER_CHECK(max_exp_avg_sq.defined() == o.amsgrad,
              "{}: max_exp_avg_sq is needed exactly when amsgrad is on (amsgrad {}, parameter {})", op,
              o.amsgrad, param.shape());
  if (o.amsgrad) check_like_param(max_exp_avg_sq, param, "max_exp_avg_sq", op);
  EMBER_CHECK(o.step >= 1, "{}: step counts from 1, got {}", op, o.step);

  const double t = static_cast<double>(o.step);
  const double bias_correction1 = 1 - std::pow(o.beta1, t);
  const double bias_correction2 = 1 - std::pow(o.beta2, t);
  kernels::AdamCoefficients c{};
  c.l2 = o.decoupled_weight_decay ? 0.0 : o.weight_decay;
  c.decay = o.decoupled_weight_decay ? 1 - o.lr * o.weight_decay : 1.0;
  c.beta1 = o.beta1;
  c.beta2 = o.beta2;
  c.eps = o.eps;
  c.amsgrad = o.amsgrad;
  c.adaptive = true;
  if (!o.rectified) {
    c.step_size = o.lr / bias_correction1;
    c.denom_scale = 1 / std::sqrt(bias_correction2);
  } else {
    const double rho_inf = 2 / (1 - o.beta2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(o.beta2, t) / bias_correction2;
    if (rho_t > 5) {
      const double rect = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                    ((rho_inf - 4) * (rho_inf - 2) * rho_t));
      c.step_size = o.lr * rect * std::sqrt(bias_correction2) / bias_correction1;
      c.denom_scale = 1;
    } else {
      c.step_size = o.lr / bias_correction1;
      c.denom_scale = 1;
      c.adaptive = false;
    }
  }
  kernels::adam_step_stub(param.device())(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  for (const Tensor& written : {param, exp_avg, exp_avg_sq, max_exp_avg_sq})
    if (written.defined()) written.storage()->bump_version();
}

}  // namespace ember
