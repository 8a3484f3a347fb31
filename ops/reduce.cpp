// Reduction entry points: dim normalisation, layout to (outer, reduced, inner), autograd.
#include "ops/reduce.h"

#include <algorithm>

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<reduce_fn> reduce_stub("reduce");
}

using kernels::ReduceOp;

namespace {

// Sorted, unique, wrapped dims; all dims when `dims` is empty.
std::vector<int> reduced_dims(const Tensor& x, const Shape& dims, const char* op) {
  EMBER_CHECK(x.defined(), "{}: undefined tensor argument", op);
  std::vector<int> out;
  if (dims.empty()) {
    for (int d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (auto d : dims) out.push_back(normalize_dim(d, x.dim(), op));
  std::sort(out.begin(), out.end());
  EMBER_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(),
              "{}: dim repeated in {}", op, dims);
  return out;
}

Shape keepdim_shape(const Tensor& x, const std::vector<int>& dims) {
  Shape shape = x.shape();
  for (int d : dims) shape[d] = 1;
  return shape;
}

Shape result_shape(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  if (keepdim) return keepdim_shape(x, dims);
  Shape shape;
  for (int d = 0; d < x.dim(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(x.shape()[d]);
  return shape;
}

// Runs the kernel on x reduced over dims; returns the keepdim-shaped result (no autograd).
Tensor reduce_raw(ReduceOp op, const Tensor& x, const std::vector<int>& dims, const char* name) {
  Tensor src = x;
  bool adjacent = dims.empty() || dims.back() - dims.front() + 1 == static_cast<int>(dims.size());
  int first = dims.empty() ? x.dim() : dims.front();
  int last = dims.empty() ? x.dim() - 1 : dims.back();
  if (!adjacent || !x.is_contiguous()) {
    // Move the reduced dims to the end, in order, then one contiguous copy.
    Shape order;
    for (int d = 0; d < x.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    for (int d : dims) order.push_back(d);
    src = permute(x.detach(), order).contiguous();
    first = x.dim() - static_cast<int>(dims.size());
    last = x.dim() - 1;
  }
  std::int64_t outer = 1, reduced = 1, inner = 1;
  for (int d = 0; d < src.dim(); ++d) {
    std::int64_t n = src.shape()[d];
    (d < first ? outer : d <= last ? reduced : inner) *= n;
  }
  EMBER_CHECK(reduced > 0 || op == ReduceOp::Sum,
              "{}: cannot reduce over an empty dimension of shape {}", name, x.shape());
  DType out_dtype = op == ReduceOp::ArgMax ? kInt64 : x.dtype();
  Tensor out = empty(keepdim_shape(x, dims), TensorOptions(out_dtype, x.device()));
  kernels::reduce_stub(x.device())(op, src, out, outer, reduced, inner);
  return out;
}

std::int64_t reduced_count(const Tensor& x, const std::vector<int>& dims) {
  std::int64_t n = 1;
  for (int d : dims) n *= x.shape()[d];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  auto rd = reduced_dims(x, dims, "sum");
  Tensor out = reduce_raw(ReduceOp::Sum, x, rd, "sum");
  Shape kd = out.shape();
  out = reshape(out, result_shape(x, rd, keepdim));
  return autograd::record("sum", out, {x}, [kd, shape = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{expand(reshape(g, kd), shape)};
  });
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  EMBER_CHECK(x.defined(), "mean: undefined tensor argument");
  EMBER_CHECK(is_floating(x.dtype()), "mean: expected a floating tensor, got {} of shape {}",
              x.dtype(), x.shape());
  auto rd = reduced_dims(x, dims, "mean");
  std::int64_t n = reduced_count(x, rd);
  EMBER_CHECK(n > 0, "mean: cannot average over an empty dimension of shape {}", x.shape());
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(n));
}

Tensor max(const Tensor& x, const Shape& dims, bool keepdim) {
  auto rd = reduced_dims(x, dims, "max");
  Tensor kept = reduce_raw(ReduceOp::Max, x, rd, "max");
  Tensor out = reshape(kept, result_shape(x, rd, keepdim));
  if (!autograd::any_requires_grad({x})) return out;
  Tensor saved_x = x.detach(), saved_max = kept.detach();
  return autograd::record("max", out, {x}, [saved_x, saved_max, rd](const Tensor& g, const std::vector<bool>&) {
    Tensor is_max = eq(saved_x, saved_max);
    Tensor count = sum(is_max, Shape(rd.begin(), rd.end()), true);
    return std::vector<Tensor>{mul(is_max, div(reshape(g, saved_max.shape()), count))};
  }, {saved_x, saved_max});
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(x.defined(), "argmax: undefined tensor argument");
  std::vector<int> rd{normalize_dim(dim, x.dim(), "argmax")};
  return reshape(reduce_raw(ReduceOp::ArgMax, x, rd, "argmax"), result_shape(x, rd, keepdim));
}

Tensor var(const Tensor& x, const Shape& dims, std::int64_t correction, bool keepdim) {
  EMBER_CHECK(x.defined(), "var: undefined tensor argument");
  EMBER_CHECK(is_floating(x.dtype()), "var: expected a floating tensor, got {} of shape {}",
              x.dtype(), x.shape());
  auto rd = reduced_dims(x, dims, "var");
  std::int64_t n = reduced_count(x, rd);
  EMBER_CHECK(n - correction > 0, "var: {} elements with correction {} in shape {}", n,
              correction, x.shape());
  Tensor centered = sub(x, mean(x, dims, true));
  return mul(sum(mul(centered, centered), dims, keepdim), 1.0 / static_cast<double>(n - correction));
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  EMBER_CHECK(broadcast_shapes(shape, g.shape(), "sum_to") == g.shape(),
              "sum_to: shape {} does not broadcast to {}", shape, g.shape());
  const std::size_t lead = g.shape().size() - shape.size();
  Shape dims;
  for (std::size_t d = 0; d < g.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(static_cast<std::int64_t>(d));
  if (dims.empty()) return reshape(g, shape);
  return reshape(sum(g, dims, true), shape);
}

}  // namespace ember
