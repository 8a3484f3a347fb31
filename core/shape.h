// Shapes and strides: row-major (numpy order) helpers shared by every op.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ember {

using Shape = std::vector<std::int64_t>;

// Number of elements of a shape; 1 for a scalar (empty shape).
std::int64_t shape_numel(const Shape& shape);

// Throws ember::Error naming op unless every dim is >= 0 and the product of the dims (each
// counted as at least 1, as strides are) fits in int64. Every op that makes a shape from user
// input checks it, so numel() and strides never overflow.
void check_shape(const Shape& shape, std::string_view op);

// Row-major strides, in elements.
Shape contiguous_strides(const Shape& shape);

// Wraps a possibly negative dim into [0, ndim), or throws naming op.
int normalize_dim(std::int64_t dim, std::int64_t ndim, std::string_view op);

// Numpy broadcasting of two shapes, or an ember::Error naming op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// Strides that let a tensor of (shape, strides) be read as broadcast to `target` (0 where a dim
// is broadcast). `shape` must be broadcastable to `target`.
Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target);

}  // namespace ember
