// layer_norm over the trailing dims given by normalized_shape, fused: forward saves only the
// per-row mean and 1/std, backward computes dx, dweight and dbias in one pass over the rows.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

// weight and bias (shape normalized_shape) are optional: pass undefined tensors to omit them.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

namespace kernels {
// x: contiguous (rows, n); y like x; mean, rstd: (rows). weight/bias: (n) or undefined.
using layer_norm_fn = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               double eps, const Tensor& y, const Tensor& mean, const Tensor& rstd);
// dx like x; dweight, dbias: (n), or undefined when not wanted.
using layer_norm_backward_fn = void (*)(const Tensor& g, const Tensor& x, const Tensor& mean,
                                        const Tensor& rstd, const Tensor& weight, const Tensor& dx,
                                        const Tensor& dweight, const Tensor& dbias);
extern DispatchStub<layer_norm_fn> layer_norm_stub;
extern DispatchStub<layer_norm_backward_fn> layer_norm_backward_stub;
}  // namespace kernels

}  // namespace ember
