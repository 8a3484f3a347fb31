// Shape arithmetic: numel, strides, dim wrapping and numpy broadcasting.
#include "core/shape.h"

#include <algorithm>

#include "core/error.h"

namespace ember {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

void check_shape(const Shape& shape, std::string_view op) {
  std::int64_t span = 1;
  for (auto s : shape) {
    EMBER_CHECK(s >= 0, "{}: negative dimension {} in shape {}", op, s, shape);
    EMBER_CHECK(!__builtin_mul_overflow(span, std::max<std::int64_t>(s, 1), &span),
                "{}: shape {} is too large (more than 2^63 elements)", op, shape);
  }
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

int normalize_dim(std::int64_t dim, std::int64_t ndim, std::string_view op) {
  std::int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  EMBER_CHECK(dim >= lo && dim <= hi, "{}: dim {} out of range for a tensor of {} dims", op, dim,
              ndim);
  if (dim < 0) dim += std::max<std::int64_t>(ndim, 1);
  return static_cast<int>(dim);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1,
                "{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op, a, b,
                i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target) {
  Shape out(target.size(), 0);
  std::size_t lead = target.size() - shape.size();
  for (std::size_t i = 0; i < shape.size(); ++i)
    out[lead + i] = (shape[i] == 1 && target[lead + i] != 1) ? 0 : strides[i];
  return out;
}

}  // namespace ember
