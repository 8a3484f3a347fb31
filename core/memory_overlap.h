// Memory overlap between strided tensors: what makes an in-place write safe.
//
// An in-place op writes its destination while it reads its sources. That is wrong in two cases:
//   - the destination's own elements share memory (an expand()ed view: stride 0 over a size > 1),
//     so one location would be written several times; such a destination is refused;
//   - a source covers some of the destination's memory but not element for element (x.copy_(x.t()),
//     x[1:].add_(x[:-1])), so later reads see earlier writes; the op then reads a private copy.
// A source laid out exactly like the destination (x.add_(x)) is safe: each element is read before
// it is written, by the same thread.
#pragma once

#include "core/tensor.h"

namespace ember {

// True when two different indices of t address one memory location. Exact for every layout views
// can make (each stride at least the extent of the smaller ones); an unusual interleaved layout
// is reported as overlapping, which only costs a refusal, never a wrong result.
bool has_internal_overlap(const Tensor& t);

// Throws ember::Error naming op unless t can be written element by element.
void check_no_internal_overlap(const Tensor& t, const char* op);

enum class Overlap {
  None,     // disjoint memory (or different storages)
  Same,     // the same elements in the same order: shape, strides and offset agree
  Partial,  // anything else that may share a location
};

// How `source` (read, possibly broadcast) relates to `destination` (written).
Overlap memory_overlap(const Tensor& destination, const Tensor& source);

}  // namespace ember
