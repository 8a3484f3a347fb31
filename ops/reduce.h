// Reductions over a set of dims (all dims when `dims` is empty), with keepdim as in PyTorch.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Largest values (torch.amax): the gradient is shared equally among tied maxima.
Tensor max(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Index of the largest value along one dim (first on ties), int64; not differentiable.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1), as torch.var.
Tensor var(const Tensor& x, const Shape& dims = {}, std::int64_t correction = 1, bool keepdim = false);

// Sums a broadcast gradient back to `shape` (the inverse of broadcasting `shape` up to g's).
Tensor sum_to(const Tensor& g, const Shape& shape);

namespace kernels {
enum class ReduceOp { Sum, Max, ArgMax };
// x is contiguous and read as (outer, reduced, inner); out is contiguous (outer, inner).
using reduce_fn = void (*)(ReduceOp op, const Tensor& x, const Tensor& out, std::int64_t outer,
                           std::int64_t reduced, std::int64_t inner);
extern DispatchStub<reduce_fn> reduce_stub;
}  // namespace kernels

}  // namespace ember
