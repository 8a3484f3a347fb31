// clip_grad_norm on top of the device-neutral ops: each grad's contribution is reduced on the
// device and only the final total is read back, one host sync for the whole call.
#include "nn/optim/clip_grad.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace ember::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  EMBER_CHECK(inf_norm || norm_type > 0, "clip_grad_norm: norm_type must be positive or infinity, got {}",
              norm_type);
  EMBER_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0 (inf: no clipping), got {}",
              max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    // An empty grad adds nothing to any norm (and max over it is undefined).
    if (p.defined() && p.grad().defined() && p.grad().numel() > 0) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;

  // Per grad: max |g| for the inf norm, else sum |g|^p, as float64 on the first grad's device;
  // then one reduction over all of them and a single read back.
  const Device device = grads.front().device();
  std::vector<Tensor> parts;
  for (const Tensor& g : grads) {
    Tensor part;
    if (inf_norm) {
      part = max(abs(g));
    } else if (norm_type == 2.0) {
      part = sum(g * g);
    } else if (norm_type == 1.0) {
      part = sum(abs(g));
    } else {
      part = sum(pow(abs(g), norm_type));
    }
    parts.push_back(part.to(kFloat64).to(device));
  }
  const Tensor all = stack(parts);
  const double reduced = (inf_norm ? max(all) : sum(all)).item<double>();
  const double total = inf_norm ? reduced : std::pow(reduced, 1.0 / norm_type);

  const double clip_coef = max_norm / (total + 1e-6);
  if (clip_coef < 1) {
    for (Tensor& g : grads) g.mul_(clip_coef);
  }
  return total;
}

}  // namespace ember::optim
