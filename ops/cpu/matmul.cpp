// CPU matmul through CBLAS. Each operand's last two strides decide whether it is passed as is or
// with the transpose flag; only an operand with neither unit stride is copied. Many small
// matrices run in parallel over the batch (OpenBLAS is the OpenMP build, so it runs single-threaded
// inside our parallel region instead of oversubscribing); large ones use OpenBLAS's own threads.
// One-row products (batch-1 Linear, generation) run as GEMV (see ops/cpu/blas.h).
#include <algorithm>
#include <optional>

#include "core/factory.h"
#include "ops/blas_layout.h"
#include "ops/copy.h"
#include "ops/cpu/blas.h"
#include "ops/cpu/loops.h"
#include "ops/matmul.h"

namespace ember::cpu {
namespace {

using kernels::BlasLayout;

void matmul_cpu(const Tensor& a_in, const Tensor& b_in, const Tensor& out) {
  if (a_in.dtype() == kBFloat16) {
    // CBLAS has no bfloat16 GEMM: widen the operands (exactly) and multiply in float32, which is
    // bf16 GEMM's arithmetic (float32 accumulation) without its speed.
    Tensor product = out.dtype() == kFloat32 ? out : empty(out.shape(), kFloat32);
    matmul_cpu(a_in.to(kFloat32), b_in.to(kFloat32), product);
    if (product.raw_data() != out.raw_data()) kernels::copy_stub(kCPU)(product, out);
    return;
  }
  std::optional<BlasLayout> la, lb;
  Tensor a = kernels::blas_ready(a_in, la), b = kernels::blas_ready(b_in, lb);
  const int d = out.dim();
  const std::int64_t M = out.shape()[d - 2], N = out.shape()[d - 1], K = a.shape()[d - 1];
  const Shape batch(out.shape().begin(), out.shape().end() - 2);
  const std::int64_t batches = shape_numel(batch);
  if (M == 0 || N == 0) return;
  dispatch_floating(out.dtype(), "matmul", [&]<typename T>() {
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    T* pc = out.data_ptr<T>();
    if (K == 0) {
      std::fill(pc, pc + out.numel(), T(0));
      return;
    }
    auto run_one = [&](std::int64_t i) {
      std::int64_t off_a = 0, off_b = 0, rest = i;
      for (int k = static_cast<int>(batch.size()) - 1; k >= 0; --k) {
        std::int64_t idx = rest % batch[k];
        rest /= batch[k];
        off_a += idx * a.strides()[k];
        off_b += idx * b.strides()[k];
      }
      if (M == 1)  // a row read with stride ld when stored transposed (one column), else unit stride
        row_times_matrix<T>(N, K, T(1), pa + off_a, la->trans ? la->ld : 1, lb->trans, pb + off_b, lb->ld, T(0),
                            pc + i * N);
      else
        gemm<T>(la->trans, lb->trans, M, N, K, T(1), pa + off_a, la->ld, pb + off_b, lb->ld, T(0), pc + i * M * N, N);
    };
    // Small products in parallel over the batch, unless all of them together are too little work
    // to pay for waking the team (a generation step's per-head products: 8 x 64 x 64).
    const bool small = M * N * K < 128 * 128 * 128;
    parallel_for(batches, batches > 1 && small && batches * M * N * K >= 8 * kParallelGrain, run_one);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::matmul_stub, DeviceType::CPU, matmul_cpu);

}  // namespace ember::cpu
