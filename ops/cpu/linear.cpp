// CPU linear (see ops/linear.h): each output row starts as the bias and the product is accumulated
// onto it by one CBLAS call, GEMV for a single row, GEMM otherwise.
#include <algorithm>
#include <optional>

#include "ops/blas_layout.h"
#include "ops/cpu/blas.h"
#include "ops/cpu/loops.h"
#include "ops/linear.h"

namespace ember::cpu {
namespace {

void linear_cpu(const Tensor& x, const Tensor& weight_in, const Tensor& bias, const Tensor& out) {
  const std::int64_t N = weight_in.size(0), K = weight_in.size(1);
  if (N == 0 || out.numel() == 0) return;
  const std::int64_t rows = out.numel() / N;
  const std::int64_t ldx = *kernels::linear_row_stride(x), ldo = *kernels::linear_row_stride(out);
  std::optional<kernels::BlasLayout> lw;
  const Tensor weight = kernels::blas_ready(weight_in, lw);
  dispatch_floating(out.dtype(), "linear", [&]<typename T>() {
    T* y = out.data_ptr<T>();
    const T* b = bias.defined() ? bias.data_ptr<T>() : nullptr;
    parallel_for(rows, rows * N >= kParallelGrain, [&](std::int64_t r) {
      if (b) std::copy(b, b + N, y + r * ldo);
      else std::fill(y + r * ldo, y + r * ldo + N, T(0));
    });
    if (K == 0) return;
    const T* px = x.data_ptr<T>();
    const T* pw = weight.data_ptr<T>();
    // W (N, K) read as the right operand W^T (K, N): transposed exactly when W is not.
    if (rows == 1) row_times_matrix<T>(N, K, T(1), px, 1, !lw->trans, pw, lw->ld, T(1), y);
    else gemm<T>(false, !lw->trans, rows, N, K, T(1), px, ldx, pw, lw->ld, T(1), y, ldo);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::linear_stub, DeviceType::CPU, linear_cpu);

}  // namespace ember::cpu
