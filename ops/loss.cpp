// cross_entropy entry point: shape/dtype/range checks, mean over non-ignored targets, autograd.
#include "ops/loss.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace ember {

namespace kernels {
constinit DispatchStub<cross_entropy_fn> cross_entropy_stub("cross_entropy");
constinit DispatchStub<cross_entropy_backward_fn> cross_entropy_backward_stub("cross_entropy backward");
}  // namespace kernels

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options) {
  EMBER_CHECK(logits.defined() && targets.defined(), "cross_entropy: undefined tensor argument");
  EMBER_CHECK(logits.dim() >= 1 && is_floating(logits.dtype()),
              "cross_entropy: logits must be floating (..., C), got {} {}", logits.dtype(), logits.shape());
  EMBER_CHECK(targets.dtype() == kInt64, "cross_entropy: targets must be int64, got {} of shape {}",
              targets.dtype(), targets.shape());
  EMBER_CHECK(Shape(logits.shape().begin(), logits.shape().end() - 1) == targets.shape(),
              "cross_entropy: logits {} need targets of shape {} (class dim last), got {}",
              logits.shape(), Shape(logits.shape().begin(), logits.shape().end() - 1), targets.shape());
  EMBER_CHECK(logits.device() == targets.device(), "cross_entropy: logits on {} but targets on {}",
              logits.device(), targets.device());
  EMBER_CHECK(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0,
              "cross_entropy: label_smoothing must be in [0, 1], got {}", options.label_smoothing);
  const std::int64_t C = logits.shape().back();
  const std::int64_t rows = targets.numel();
  Tensor t = targets.contiguous().reshape({rows});
  Tensor ignored = eq(t, full({}, static_cast<double>(options.ignore_index), TensorOptions(kInt64, t.device())));
  const std::int64_t count = rows - sum(ignored).item<std::int64_t>();
  if (rows > 0) {
    Tensor kept = where(ignored, zeros({}, TensorOptions(kInt64, t.device())), t);
    const std::int64_t lo = -max(neg(kept)).item<std::int64_t>(), hi = max(kept).item<std::int64_t>();
    EMBER_CHECK(lo >= 0 && hi < C, "cross_entropy: target out of range [0, {}): targets span [{}, {}]",
                C, lo, hi);
  }
  TensorOptions opts(logits.dtype(), logits.device());
  Tensor x = logits.detach().contiguous().reshape({rows, C});
  Tensor loss_rows = empty({rows}, opts), lse = empty({rows}, opts);
  kernels::cross_entropy_stub(x.device())(x, t, loss_rows, lse, options.ignore_index, options.label_smoothing);
  // The mean over zero targets is NaN, as in PyTorch.
  Tensor loss = div(sum(loss_rows), static_cast<double>(count));
  return autograd::record("cross_entropy", loss, {logits}, [x, t, lse, count, options, shape = logits.shape()](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = empty(x.shape(), TensorOptions(x.dtype(), x.device()));
    const double scale = g.item<double>() / static_cast<double>(count);
    kernels::cross_entropy_backward_stub(x.device())(x, t, lse, dx, scale, options.ignore_index, options.label_smoothing);
    return std::vector<Tensor>{dx.reshape(shape)};
  }, {x, t});
}

}  // namespace ember
