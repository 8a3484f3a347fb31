// layer_norm entry point: checks and autograd wiring around the fused kernels.
#include "ops/layer_norm.h"

#include "autograd/node.h"
#include "core/factory.h"

namespace ember {

namespace kernels {
constinit DispatchStub<layer_norm_fn> layer_norm_stub("layer_norm");
constinit DispatchStub<layer_norm_backward_fn> layer_norm_backward_stub("layer_norm backward");
}  // namespace kernels

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  EMBER_CHECK(x.defined(), "layer_norm: undefined input");
  EMBER_CHECK(is_floating(x.dtype()), "layer_norm: expected a floating input, got {} of shape {}",
              x.dtype(), x.shape());
  const std::size_t k = normalized_shape.size();
  EMBER_CHECK(k >= 1 && k <= static_cast<std::size_t>(x.dim()) &&
                  Shape(x.shape().end() - k, x.shape().end()) == normalized_shape,
              "layer_norm: normalized_shape {} does not match the trailing dims of input {}",
              normalized_shape, x.shape());
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    EMBER_CHECK(p->shape() == normalized_shape && p->dtype() == x.dtype() && p->device() == x.device(),
                "layer_norm: weight/bias {} {} {} must be {} {} {}", p->shape(), p->dtype(),
                p->device(), normalized_shape, x.dtype(), x.device());
  }
  const std::int64_t n = shape_numel(normalized_shape);
  EMBER_CHECK(n > 0, "layer_norm: cannot normalise over empty shape {}", normalized_shape);
  const std::int64_t rows = x.numel() / n;
  TensorOptions opts(x.dtype(), x.device());
  // The kernels read every operand as contiguous (a strided weight is copied, as x is).
  Tensor xc = x.detach().contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty(x.shape(), opts), mean = empty({rows}, opts), rstd = empty({rows}, opts);
  kernels::layer_norm_stub(x.device())(xc, w, b, eps, y, mean, rstd);
  if (!autograd::any_requires_grad({x, weight, bias})) return y;
  return autograd::record("layer_norm", y, {x, weight, bias}, [xc, mean, rstd, w, opts, normalized_shape](const Tensor& g, const std::vector<bool>& needs) {
    Tensor dx = empty(xc.shape(), opts);
    Tensor dw = needs[1] ? empty(normalized_shape, opts) : Tensor();
    Tensor db = needs[2] ? empty(normalized_shape, opts) : Tensor();
    kernels::layer_norm_backward_stub(xc.device())(g.contiguous(), xc, mean, rstd, w, dx, dw, db);
    return std::vector<Tensor>{needs[0] ? dx : Tensor(), dw, db};
  }, {xc, w});
}

}  // namespace ember
