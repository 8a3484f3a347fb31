// Overlap tests for in-place writes (see memory_overlap.h).
#include "core/memory_overlap.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace ember {

namespace {

struct ByteRange {
  std::int64_t first, last;  // inclusive, in bytes from the storage's start
};

ByteRange byte_range(const Tensor& t) {
  std::int64_t first = t.offset(), last = t.offset();
  for (int d = 0; d < t.dim(); ++d) {
    const std::int64_t reach = (t.shape()[d] - 1) * t.strides()[d];
    (reach < 0 ? first : last) += reach;
  }
  const auto size = static_cast<std::int64_t>(element_size(t.dtype()));
  return {first * size, last * size + size - 1};
}

}  // namespace

bool has_internal_overlap(const Tensor& t) {
  if (t.is_contiguous()) return false;  // the common case, without sorting anything
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // (|stride|, size) of dims with size > 1
  for (int d = 0; d < t.dim(); ++d) {
    if (t.shape()[d] == 0) return false;  // no elements, nothing to collide
    if (t.shape()[d] == 1) continue;
    const std::int64_t stride = t.strides()[d] < 0 ? -t.strides()[d] : t.strides()[d];
    if (stride == 0) return true;
    dims.emplace_back(stride, t.shape()[d]);
  }
  std::sort(dims.begin(), dims.end());
  std::int64_t extent = 1;  // elements spanned by the dims seen so far
  for (const auto& [stride, size] : dims) {
    if (stride < extent) return true;
    extent = stride * (size - 1) + extent;
  }
  return false;
}

void check_no_internal_overlap(const Tensor& t, const char* op) {
  EMBER_CHECK(!has_internal_overlap(t),
              "{}: cannot write in place into a tensor of shape {} with strides {}: several of its "
              "elements share one memory location (an expand()ed view?); write into a clone() instead",
              op, t.shape(), t.strides());
}

Overlap memory_overlap(const Tensor& destination, const Tensor& source) {
  if (destination.storage() != source.storage()) return Overlap::None;
  if (destination.numel() == 0 || source.numel() == 0) return Overlap::None;
  if (destination.offset() == source.offset() && destination.shape() == source.shape() &&
      destination.strides() == source.strides() && destination.dtype() == source.dtype())
    return Overlap::Same;
  const ByteRange d = byte_range(destination), s = byte_range(source);
  return d.last < s.first || s.last < d.first ? Overlap::None : Overlap::Partial;
}

}  // namespace ember
