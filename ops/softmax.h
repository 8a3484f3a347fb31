// softmax and log_softmax along one dim, numerically stable (the row max is subtracted first, so
// log_softmax(x + 1e4) == log_softmax(x)). Backward uses only the saved output.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

Tensor softmax(const Tensor& x, std::int64_t dim = -1);
Tensor log_softmax(const Tensor& x, std::int64_t dim = -1);

namespace kernels {
// x, out: contiguous (rows, n), normalised along n.
using softmax_fn = void (*)(const Tensor& x, const Tensor& out, bool log);
// dx = y * (g - sum(g * y)) for softmax; dx = g - exp(y) * sum(g) for log_softmax.
using softmax_backward_fn = void (*)(const Tensor& g, const Tensor& y, const Tensor& dx, bool log);
extern DispatchStub<softmax_fn> softmax_stub;
extern DispatchStub<softmax_backward_fn> softmax_backward_stub;
}  // namespace kernels

}  // namespace ember
