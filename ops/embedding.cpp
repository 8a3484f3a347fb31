// embedding entry point: index range checks and autograd wiring.
#include "ops/embedding.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace ember {

namespace kernels {
constinit DispatchStub<embedding_fn> embedding_stub("embedding");
constinit DispatchStub<embedding_backward_fn> embedding_backward_stub("embedding backward");
}  // namespace kernels

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  EMBER_CHECK(weight.defined() && indices.defined(), "embedding: undefined tensor argument");
  EMBER_CHECK(weight.dim() == 2 && is_floating(weight.dtype()),
              "embedding: weight must be a floating (V, D) matrix, got {} {}", weight.dtype(), weight.shape());
  EMBER_CHECK(indices.dtype() == kInt64, "embedding: indices must be int64, got {} of shape {}",
              indices.dtype(), indices.shape());
  EMBER_CHECK(weight.device() == indices.device(), "embedding: weight on {} but indices on {}",
              weight.device(), indices.device());
  Tensor idx = indices.contiguous();
  if (idx.numel() > 0) {
    const std::int64_t lo = -max(neg(idx)).item<std::int64_t>(), hi = max(idx).item<std::int64_t>();
    EMBER_CHECK(lo >= 0 && hi < weight.size(0),
                "embedding: index out of range [0, {}): indices span [{}, {}] (indices shape {})",
                weight.size(0), lo, hi, indices.shape());
  }
  const std::int64_t D = weight.size(1);
  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  Tensor w = weight.detach().contiguous();
  Tensor out = empty(out_shape, TensorOptions(weight.dtype(), weight.device()));
  kernels::embedding_stub(weight.device())(w, idx, out);
  return autograd::record("embedding", out, {weight}, [idx, wshape = weight.shape()](const Tensor& g, const std::vector<bool>&) {
    Tensor dw = zeros(wshape, TensorOptions(g.dtype(), g.device()));
    kernels::embedding_backward_stub(g.device())(g.contiguous(), idx, dw);
    return std::vector<Tensor>{dw};
  }, {idx});
}

}  // namespace ember
