// cat/stack/split/chunk/tril/triu entry points. cat writes each input into a slice of the output
// with the strided copy kernel; its backward hands each input the matching slice of the gradient.
#include "ops/shape_ops.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/copy.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<triangle_fn> triangle_stub("tril/triu");
}

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i)
    EMBER_CHECK(tensors[i].defined(), "cat: tensor {} of {} is undefined", i, tensors.size());
  const Tensor& first = tensors.front();
  int d = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    EMBER_CHECK(t.dim() == first.dim() && t.dtype() == first.dtype() && t.device() == first.device(),
                "cat: tensor {} is {} {} {}, expected {} dims of {} on {}", i, t.shape(), t.dtype(),
                t.device(), first.dim(), first.dtype(), first.device());
    for (int k = 0; k < t.dim(); ++k)
      EMBER_CHECK(k == d || t.shape()[k] == first.shape()[k],
                  "cat: shapes {} and {} differ outside dim {}", first.shape(), t.shape(), d);
    EMBER_CHECK(!__builtin_add_overflow(shape[d], t.shape()[d], &shape[d]),
                "cat: the sizes along dim {} add up past int64 at tensor {} of shape {}", d, i, t.shape());
  }
  Tensor out = empty(shape, TensorOptions(first.dtype(), first.device()));
  std::vector<std::int64_t> starts;
  std::int64_t start = 0;
  for (const auto& t : tensors) {
    starts.push_back(start);
    kernels::copy_stub(out.device())(t, slice(out, d, start, start + t.shape()[d]));
    start += t.shape()[d];
  }
  std::vector<std::int64_t> sizes;
  for (const auto& t : tensors) sizes.push_back(t.shape()[d]);
  return autograd::record("cat", out, tensors, [d, starts, sizes](const Tensor& g, const std::vector<bool>& needs) {
    std::vector<Tensor> grads(starts.size());
    for (std::size_t i = 0; i < starts.size(); ++i)
      if (needs[i]) grads[i] = slice(g, d, starts[i], starts[i] + sizes[i]);
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i)
    EMBER_CHECK(tensors[i].defined(), "stack: tensor {} of {} is undefined", i, tensors.size());
  int d = normalize_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].shape() == tensors.front().shape(),
                "stack: tensor {} has shape {}, expected {}", i, tensors[i].shape(),
                tensors.front().shape());
    expanded.push_back(unsqueeze(tensors[i], d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  EMBER_CHECK(x.defined(), "split: undefined tensor argument");
  int d = normalize_dim(dim, x.dim(), "split");
  EMBER_CHECK(split_size > 0, "split: split_size must be positive, got {}", split_size);
  std::vector<Tensor> pieces;
  for (std::int64_t start = 0; start < x.shape()[d]; start += split_size)
    pieces.push_back(slice(x, d, start, start + split_size));
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  EMBER_CHECK(x.defined(), "chunk: undefined tensor argument");
  EMBER_CHECK(chunks > 0, "chunk: number of chunks must be positive, got {}", chunks);
  int d = normalize_dim(dim, x.dim(), "chunk");
  const std::int64_t n = x.shape()[d];
  const std::int64_t size = n / chunks + (n % chunks != 0);  // ceil, without overflow for huge chunks
  return split(x, std::max<std::int64_t>(size, 1), d);
}

namespace {
Tensor triangle(const Tensor& x, std::int64_t k, bool lower, const char* name) {
  EMBER_CHECK(x.defined(), "{}: undefined tensor argument", name);
  EMBER_CHECK(x.dim() >= 2, "{}: expected at least 2 dims, got shape {}", name, x.shape());
  Tensor out = empty(x.shape(), TensorOptions(x.dtype(), x.device()));
  kernels::triangle_stub(x.device())(x, out, k, lower);
  return autograd::record(name, out, {x}, [k, lower, name](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{triangle(g, k, lower, name)};
  });
}
}  // namespace

Tensor tril(const Tensor& x, std::int64_t k) { return triangle(x, k, true, "tril"); }
Tensor triu(const Tensor& x, std::int64_t k) { return triangle(x, k, false, "triu"); }

}  // namespace ember
