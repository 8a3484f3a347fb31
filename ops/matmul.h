// Matrix products: 2-D, batched with broadcasting over batch dims, and 1-D operands as in numpy.
// CPU runs through CBLAS (OpenBLAS); transposed views are passed as transpose flags, not copied.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

// (..., M, K) @ (..., K, N) -> (broadcast(...), M, N). A 1-D left operand is a row vector, a 1-D
// right operand a column vector; the added dim is removed from the result.
Tensor matmul(const Tensor& a, const Tensor& b);

namespace kernels {
// a: (batch..., M, K), b: (batch..., K, N), both already broadcast to out's batch dims (batch
// strides may be 0); out: contiguous (batch..., M, N). Any strides; the kernel copies an operand
// only when no BLAS layout fits it.
using matmul_fn = void (*)(const Tensor& a, const Tensor& b, const Tensor& out);
extern DispatchStub<matmul_fn> matmul_stub;
}  // namespace kernels

}  // namespace ember
