// cross_entropy fused with log_softmax: logits (..., C) with the class dim last, int64 targets
// (...). Returns the mean over targets that are not ignore_index. Forward saves only the per-row
// log-sum-exp; backward recomputes the softmax from the logits.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

struct CrossEntropyOptions {
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;  // target mixes (1 - s) one-hot with s uniform over C classes
};

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options = {});

namespace kernels {
// logits: contiguous (rows, C); targets: contiguous int64 (rows). Writes per-row loss (0 for
// ignored rows) and per-row log-sum-exp.
using cross_entropy_fn = void (*)(const Tensor& logits, const Tensor& targets, const Tensor& loss,
                                  const Tensor& lse, std::int64_t ignore_index, double smoothing);
// dlogits = scale * (softmax - smoothed one-hot) for non-ignored rows, 0 otherwise.
using cross_entropy_backward_fn = void (*)(const Tensor& logits, const Tensor& targets,
                                           const Tensor& lse, const Tensor& dlogits, double scale,
                                           std::int64_t ignore_index, double smoothing);
extern DispatchStub<cross_entropy_fn> cross_entropy_stub;
extern DispatchStub<cross_entropy_backward_fn> cross_entropy_backward_stub;
}  // namespace kernels

}  // namespace ember
