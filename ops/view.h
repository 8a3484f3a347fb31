// Views: ops that make a new shape/stride/offset over the same storage, with no copy.
// All are differentiable; writes through a view are seen by the tensor it views.
#pragma once

#include "core/tensor.h"

namespace ember {

// One dim of `shape` may be -1 (inferred). view() requires strides that allow it and says so
// otherwise; reshape() falls back to a copy.
Tensor view(const Tensor& x, const Shape& shape);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
Tensor permute(const Tensor& x, const Shape& dims);
// Python-style [start:end:step] along dim; start/end are clamped, negatives count from the end.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);  // drops dim
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x);  // all size-1 dims
// Broadcast view: size-1 dims (and new leading dims) repeat with stride 0; -1 keeps a size.
Tensor expand(const Tensor& x, const Shape& shape);

}  // namespace ember
