// Templated row-major GEMM and GEMV over CBLAS, so float and double kernels share their code:
//   C (M x N) = alpha * op(A) op(B) + beta * C, with op() chosen by the transpose flags;
//   y (rows of op(A)) = alpha * op(A) x + beta * y.
// A product with one row goes through GEMV: OpenBLAS's GEMM packs the whole right operand on
// every call even for M = 1 (a 512 x 512 weight: 4x slower than GEMV with 2 threads), and its GEMV
// only starts threads above its own size threshold.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

namespace ember::cpu {

template <typename T>
inline void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
                 const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C,
                 std::int64_t ldc) {
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else {
    static_assert(std::is_same_v<T, double>);
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

template <typename T>
inline void gemv(bool trans, std::int64_t rows, std::int64_t cols, T alpha, const T* A, std::int64_t lda,
                 const T* x, std::int64_t incx, T beta, T* y, std::int64_t incy) {
  const CBLAS_TRANSPOSE t = trans ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
  } else {
    static_assert(std::is_same_v<T, double>);
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
  }
}

// C (1 x N) = alpha * a b + beta * C for a row a (K) read with stride inc_a and b (K x N) stored
// as given by trans_b and ldb: the one-row GEMM as a GEMV over b.
template <typename T>
inline void row_times_matrix(std::int64_t N, std::int64_t K, T alpha, const T* a, std::int64_t inc_a, bool trans_b,
                             const T* B, std::int64_t ldb, T beta, T* C) {
  // b stored transposed is an (N x K) row-major matrix: C = B_stored a; else C = B_stored^T a.
  if (trans_b) gemv<T>(false, N, K, alpha, B, ldb, a, inc_a, beta, C, 1);
  else gemv<T>(true, K, N, alpha, B, ldb, a, inc_a, beta, C, 1);
}

}  // namespace ember::cpu
