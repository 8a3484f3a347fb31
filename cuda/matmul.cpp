// CUDA matmul through cuBLAS, with the CPU kernel's operand rules (ops/blas_layout.h): transposed
// views are passed as transpose flags, and only an operand with neither unit stride is copied.
//
// cuBLAS is column-major. A row-major (M x N) C is a column-major (N x M) C^T = B^T A^T, and a
// row-major operand read column-major is its own transpose, so the call is
//   gemm(op_B, op_A, N, M, K, B, ldb, A, lda, C, ldc = N)
// with op_X = transpose exactly when X's row-major layout is the transposed one.
//
// Batches: the longest run of trailing batch dims over which every operand's batch offset is one
// stride times the flat batch index (including stride 0 for a broadcast operand) is one
// cublasGemmStridedBatchedEx call; leading batch dims that break that pattern are looped over.
//
// float32 computes in full float32 unless ember::cuda::set_allow_tf32(true) (then TF32 tensor
// cores); float64 computes in float64; bfloat16 operands (tensor cores) accumulate in float32 and
// write a bfloat16 or, under autocast, a float32 result.
#include <climits>
#include <optional>

#include "core/backend.h"
#include "cuda/context.h"
#include "cuda/cublas.h"
#include "ops/blas_layout.h"
#include "ops/matmul.h"

namespace ember::cuda {
namespace {

using kernels::BlasLayout;

// One operand's batch stride per flat index over the dims checked so far (innermost first).
struct FlatBatch {
  std::int64_t stride = 0;
  bool known = false;  // false until a batch dim of size > 1 is seen

  bool extend(std::int64_t size, std::int64_t dim_stride, std::int64_t span) {
    if (size == 1) return true;
    if (!known) {  // the innermost dim of size > 1: everything inside it has size 1
      stride = dim_stride;
      known = true;
      return true;
    }
    return dim_stride == stride * span;
  }
};

int checked_int(std::int64_t v, const char* what) {
  EMBER_CHECK(v <= INT_MAX, "matmul: {} = {} is too large for cuBLAS (at most {})", what, v, INT_MAX);
  return static_cast<int>(v);
}

void matmul_cuda(const Tensor& a_in, const Tensor& b_in, const Tensor& out) {
  std::optional<BlasLayout> la, lb;
  Tensor a = kernels::blas_ready(a_in, la), b = kernels::blas_ready(b_in, lb);
  const int d = out.dim();
  const std::int64_t M = out.shape()[d - 2], N = out.shape()[d - 1], K = a.shape()[d - 1];
  if (M == 0 || N == 0) return;
  cudaStream_t stream = launch_stream(out.device());
  const std::size_t out_bytes = static_cast<std::size_t>(out.numel()) * element_size(out.dtype());
  if (K == 0) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out_bytes, stream));
    return;
  }
  const Shape batch(out.shape().begin(), out.shape().end() - 2);
  const int nb = static_cast<int>(batch.size());
  FlatBatch flat_a, flat_b;
  int first = nb;  // batch dims [first, nb) go into one strided-batched call
  std::int64_t span = 1;
  for (int k = nb - 1; k >= 0; --k) {
    FlatBatch next_a = flat_a, next_b = flat_b;
    if (!next_a.extend(batch[k], a.strides()[k], span) || !next_b.extend(batch[k], b.strides()[k], span)) break;
    flat_a = next_a;
    flat_b = next_b;
    span *= batch[k];
    first = k;
  }
  const int batch_count = checked_int(span, "batch count");
  const std::int64_t outer = shape_numel(Shape(batch.begin(), batch.begin() + first));
  const int m = checked_int(N, "N"), n = checked_int(M, "M"), k = checked_int(K, "K");
  const int ldb = checked_int(lb->ld, "leading dimension"), lda = checked_int(la->ld, "leading dimension");
  const cublasOperation_t op_b = lb->trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = la->trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasHandle_t handle = cublas_handle(out.device().index);
  // Set per call: the setting is process-wide and may change between calls.
  EMBER_CUBLAS_CHECK(cublasSetMathMode(handle, gemm_math_mode()));

  // Operand and result types; bfloat16 operands accumulate in float32 and may write either type.
  const bool is_double = a.dtype() == kFloat64;
  const cudaDataType in_type = a.dtype() == kBFloat16 ? CUDA_R_16BF : is_double ? CUDA_R_64F : CUDA_R_32F;
  const cudaDataType out_type = out.dtype() == kBFloat16 ? CUDA_R_16BF : is_double ? CUDA_R_64F : CUDA_R_32F;
  const cublasComputeType_t compute =
      is_double ? CUBLAS_COMPUTE_64F
                : (a.dtype() == kFloat32 && allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F);
  const double alpha_d = 1, beta_d = 0;
  const float alpha_f = 1, beta_f = 0;
  const void* alpha = is_double ? static_cast<const void*>(&alpha_d) : &alpha_f;
  const void* beta = is_double ? static_cast<const void*>(&beta_d) : &beta_f;
  const std::int64_t in_size = element_size(a.dtype()), out_size = element_size(out.dtype());
  const char* pa = static_cast<const char*>(a.raw_data());
  const char* pb = static_cast<const char*>(b.raw_data());
  char* pc = static_cast<char*>(out.raw_data());
  for (std::int64_t i = 0; i < outer; ++i) {
    // Offsets of the looped (leading) batch dims.
    std::int64_t off_a = 0, off_b = 0, rest = i;
    for (int j = first - 1; j >= 0; --j) {
      const std::int64_t idx = rest % batch[j];
      rest /= batch[j];
      off_a += idx * a.strides()[j];
      off_b += idx * b.strides()[j];
    }
    EMBER_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        handle, op_b, op_a, m, n, k, alpha, pb + off_b * in_size, in_type, ldb, flat_b.stride, pa + off_a * in_size,
        in_type, lda, flat_a.stride, beta, pc + i * span * M * N * out_size, out_type, m, M * N, batch_count,
        compute, CUBLAS_GEMM_DEFAULT));
  }
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::matmul_stub, DeviceType::CUDA, matmul_cuda);

}  // namespace ember::cuda
