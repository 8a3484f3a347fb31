// View ops: only metadata changes; backward maps the gradient back to the input's shape.
#include "ops/view.h"

#include <algorithm>
#include <numeric>

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/copy.h"
#include "ops/reduce.h"

namespace ember {

namespace {

Tensor make_view(const Tensor& x, Shape shape, Shape strides, std::int64_t offset) {
  return make_tensor(x.storage(), std::move(shape), std::move(strides), offset, x.dtype());
}

// Gradient of an op that views x: reshaped back to x's shape.
Tensor record_reshape_view(const char* name, const Tensor& x, Tensor out) {
  return autograd::record(name, out, {x}, [shape = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{reshape(g, shape)};
  });
}

Shape infer_shape(const Tensor& x, const Shape& shape, const char* op) {
  EMBER_CHECK(x.defined(), "{}: undefined tensor argument", op);
  Shape out = shape;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] != -1) continue;
    EMBER_CHECK(infer < 0, "{}: only one dimension can be -1 in {}", op, shape);
    infer = static_cast<int>(i);
    out[infer] = 1;
  }
  check_shape(out, op);  // negative sizes, or a product past int64
  const std::int64_t numel = x.numel();
  if (infer >= 0) {
    const std::int64_t known = shape_numel(out);
    EMBER_CHECK(known != 0 && numel % known == 0, "{}: shape {} is invalid for {} elements", op,
                shape, numel);
    out[infer] = numel / known;
  }
  EMBER_CHECK(shape_numel(out) == numel, "{}: shape {} is invalid for input of {} elements", op,
              shape, numel);
  return out;
}

// Strides that read x's elements in row-major order with `shape`, or empty when x's layout does
// not allow that without a copy. Groups of x's dims that are contiguous among themselves may be
// split and merged freely.
Shape view_strides(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous()) return contiguous_strides(shape);
  const Shape& old_shape = x.shape();
  const Shape& old_strides = x.strides();
  Shape strides(shape.size());
  if (x.numel() == 0) return contiguous_strides(shape);
  int view_d = static_cast<int>(shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (int d = static_cast<int>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    bool chunk_ends = d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride);
    if (chunk_ends) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return {};
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return {};
  return strides;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(x, shape, "view");
  Shape strides = view_strides(x, target);
  EMBER_CHECK(!strides.empty() || target.empty(),
              "view: cannot view a tensor of shape {} and strides {} as {} without a copy; use "
              "reshape", x.shape(), x.strides(), target);
  return record_reshape_view("view", x, make_view(x, target, strides, x.offset()));
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(x, shape, "reshape");
  if (target == x.shape()) return x;
  Shape strides = view_strides(x, target);
  if (!strides.empty() || target.empty()) return record_reshape_view("reshape", x, make_view(x, target, strides, x.offset()));
  return view(x.contiguous(), target);
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  EMBER_CHECK(x.defined(), "flatten: undefined tensor argument");
  if (x.dim() == 0) return reshape(x, {1});
  int s = normalize_dim(start_dim, x.dim(), "flatten"), e = normalize_dim(end_dim, x.dim(), "flatten");
  EMBER_CHECK(s <= e, "flatten: start_dim {} is after end_dim {}", start_dim, end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  std::int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  EMBER_CHECK(x.defined(), "permute: undefined tensor argument");
  EMBER_CHECK(static_cast<int>(dims.size()) == x.dim(),
              "permute: {} dims given for a tensor of shape {}", dims.size(), x.shape());
  Shape shape(dims.size()), strides(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    int d = normalize_dim(dims[i], x.dim(), "permute");
    EMBER_CHECK(!seen[d], "permute: dim {} repeated in {}", d, dims);
    seen[d] = true;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
    inverse[d] = static_cast<std::int64_t>(i);
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  return autograd::record("permute", out, {x}, [inverse](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  EMBER_CHECK(x.defined(), "transpose: undefined tensor argument");
  int a = normalize_dim(d0, x.dim(), "transpose"), b = normalize_dim(d1, x.dim(), "transpose");
  Shape dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[a], dims[b]);
  return permute(x, dims);
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  EMBER_CHECK(x.defined(), "slice: undefined tensor argument");
  int d = normalize_dim(dim, x.dim(), "slice");
  EMBER_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const std::int64_t n = x.shape()[d];
  // Clamped before any arithmetic, so that no start, end or step can overflow.
  start = start < 0 ? std::max<std::int64_t>(start, -n) + n : std::min(start, n);
  end = end < 0 ? std::max<std::int64_t>(end, -n) + n : std::min(end, n);
  end = std::max(end, start);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = end == start ? 0 : (end - start - 1) / step + 1;
  if (shape[d] > 1) strides[d] *= step;  // step < n here
  Tensor out = make_view(x, shape, strides, x.offset() + start * x.strides()[d]);
  return autograd::record("slice", out, {x}, [shape = x.shape(), d, start, end, step](const Tensor& g, const std::vector<bool>&) {
    Tensor grad = zeros(shape, TensorOptions(g.dtype(), g.device()));
    copy_into(slice(grad, d, start, end, step), g, "slice backward");
    return std::vector<Tensor>{grad};
  });
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  EMBER_CHECK(x.defined(), "narrow: undefined tensor argument");
  int d = normalize_dim(dim, x.dim(), "narrow");
  EMBER_CHECK(start >= 0 && length >= 0 && start <= x.shape()[d] && length <= x.shape()[d] - start,
              "narrow: start {} and length {} are out of range for dim {} of shape {}", start, length,
              d, x.shape());
  return slice(x, d, start, start + length);
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  EMBER_CHECK(x.defined(), "select: undefined tensor argument");
  int d = normalize_dim(dim, x.dim(), "select");
  const std::int64_t n = x.shape()[d];
  EMBER_CHECK(index >= -n && index < n, "select: index {} is out of range for dim {} of shape {}",
              index, d, x.shape());
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = make_view(x, shape, strides, x.offset() + index * x.strides()[d]);
  return autograd::record("select", out, {x}, [shape = x.shape(), d, index](const Tensor& g, const std::vector<bool>&) {
    Tensor grad = zeros(shape, TensorOptions(g.dtype(), g.device()));
    copy_into(select(grad, d, index), g, "select backward");
    return std::vector<Tensor>{grad};
  });
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  EMBER_CHECK(x.defined(), "unsqueeze: undefined tensor argument");
  int d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  std::int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return record_reshape_view("unsqueeze", x, make_view(x, shape, strides, x.offset()));
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  EMBER_CHECK(x.defined(), "squeeze: undefined tensor argument");
  int d = normalize_dim(dim, x.dim(), "squeeze");
  if (x.shape()[d] != 1) return x;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return record_reshape_view("squeeze", x, make_view(x, shape, strides, x.offset()));
}

Tensor squeeze(const Tensor& x) {
  EMBER_CHECK(x.defined(), "squeeze: undefined tensor argument");
  Shape shape, strides;
  for (int d = 0; d < x.dim(); ++d) {
    if (x.shape()[d] == 1) continue;
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  return record_reshape_view("squeeze", x, make_view(x, shape, strides, x.offset()));
}

Tensor expand(const Tensor& x, const Shape& shape) {
  EMBER_CHECK(x.defined(), "expand: undefined tensor argument");
  EMBER_CHECK(shape.size() >= static_cast<std::size_t>(x.dim()),
              "expand: cannot expand shape {} to fewer dims {}", x.shape(), shape);
  Shape target = shape;
  std::size_t lead = shape.size() - x.dim();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (target[i] == -1) {
      EMBER_CHECK(i >= lead, "expand: -1 is not allowed for a new leading dim in {}", shape);
      target[i] = x.shape()[i - lead];
    }
    EMBER_CHECK(i < lead || x.shape()[i - lead] == 1 || x.shape()[i - lead] == target[i],
                "expand: cannot expand shape {} to {} (dim {}: {} is not 1)", x.shape(), shape, i,
                x.shape()[i - lead]);
  }
  check_shape(target, "expand");
  Tensor out = make_view(x, target, broadcast_strides(x.shape(), x.strides(), target), x.offset());
  return autograd::record("expand", out, {x}, [shape = x.shape()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{sum_to(g, shape)};
  });
}

}  // namespace ember
