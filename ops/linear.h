// The affine map of a Linear layer as one op, bias fused into the product:
//
//   y = x W^T + b        x (..., K), W (N, K), b (N) or none  ->  y (..., N)
//
// The kernel writes b into each row of y and accumulates the product on top (GEMM/GEMV with
// beta = 1), so there is no separate bias pass and no temporary. One row (batch-1 inference,
// generation) is a GEMV. linear_out writes into a given tensor and records no autograd: a
// generation step calls it on preallocated buffers and allocates nothing.
//
// x, W and b are float32 or float64. Under autocast linear is matmul(x, W^T) + b (ops/autocast.h).
#pragma once

#include <optional>

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

// Differentiable in x, W and b.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// out (..., N) = x W^T + b without autograd (refused when
// grad mode is on and an input requires grad). out's rows, like x's, must be one stride apart with
// a unit last-dim stride (contiguous or a narrow()ed view); out must not overlap x, W or b.
void linear_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out);

namespace kernels {
// x (rows, K) and out (rows, N) read as rows one stride apart (linear_row_stride); W (N, K) in any
// BLAS layout (ops/blas_layout.h); bias undefined or contiguous (N).
using linear_fn = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out);
extern DispatchStub<linear_fn> linear_stub;

// The stride between consecutive rows of t (..., cols) when its leading dims collapse into rows
// one stride apart, the last dim has unit stride and rows do not overlap; else nullopt.
std::optional<std::int64_t> linear_row_stride(const Tensor& t);
}  // namespace kernels

}  // namespace ember
