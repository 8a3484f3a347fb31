// embedding: rows of a (V, D) table gathered by int64 indices of any shape -> (..., D).
// Backward scatter-adds the gradient rows into a (V, D) gradient, in index order (deterministic).
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

Tensor embedding(const Tensor& weight, const Tensor& indices);

namespace kernels {
// indices: contiguous int64 (count); out: (count, D); weight: (V, D) contiguous.
using embedding_fn = void (*)(const Tensor& weight, const Tensor& indices, const Tensor& out);
// dweight (V, D) is zero on entry; g: contiguous (count, D).
using embedding_backward_fn = void (*)(const Tensor& g, const Tensor& indices, const Tensor& dweight);
extern DispatchStub<embedding_fn> embedding_stub;
extern DispatchStub<embedding_backward_fn> embedding_backward_stub;
}  // namespace kernels

}  // namespace ember
