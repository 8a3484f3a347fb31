// softmax/log_softmax entry points. Kernels work on the last dim of contiguous rows; another dim
// is moved last with a transpose (and moved back as a view).
#include "ops/softmax.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<softmax_fn> softmax_stub("softmax");
constinit DispatchStub<softmax_backward_fn> softmax_backward_stub("softmax backward");
}  // namespace kernels

namespace {

Tensor softmax_impl(const Tensor& x, std::int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  EMBER_CHECK(x.defined(), "{}: undefined tensor argument", name);
  EMBER_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {} of shape {}", name,
              x.dtype(), x.shape());
  if (x.dim() == 0) return softmax_impl(x.reshape({1}), 0, log).reshape({});
  int d = normalize_dim(dim, x.dim(), name);
  const int last = x.dim() - 1;
  Tensor src = (d == last ? x.detach() : transpose(x.detach(), d, last)).contiguous();
  Tensor y = empty(src.shape(), TensorOptions(x.dtype(), x.device()));
  kernels::softmax_stub(x.device())(src, y, log);
  Tensor out = d == last ? y : transpose(y, d, last);
  if (!autograd::any_requires_grad({x})) return out;
  // y detached: when d is last, out *is* y, and a closure holding it would keep its own node alive.
  Tensor saved_y = y.detach();
  return autograd::record(name, out, {x}, [y = saved_y, d, last, log](const Tensor& g, const std::vector<bool>&) {
    Tensor gl = (d == last ? g : transpose(g, d, last)).contiguous();
    Tensor dx = empty(gl.shape(), TensorOptions(gl.dtype(), gl.device()));
    kernels::softmax_backward_stub(gl.device())(gl, y, dx, log);
    return std::vector<Tensor>{d == last ? dx : transpose(dx, d, last)};
  }, {saved_y});
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace ember
