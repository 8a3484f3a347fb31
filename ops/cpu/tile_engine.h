// How the blocked attention kernels (sdpa.cpp, linear_attention.cpp) multiply their small tiles and
// exponentiate their rows: float32 through simd.h's register-tiled GEMM and polynomial exp for
// the CPU's instruction set (operands read in place, no packing), float64 (gradient checks) and
// CPUs without AVX2 through BLAS and std::exp. with_engine picks one; kernels are templates over
// the engine type. An engine keeps scratch space: make one per thread (copy it inside the
// parallel region).
//
// gemm follows CBLAS, row-major: C (M x N) = alpha op(A) op(B) (+ C when accumulate).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "ops/cpu/blas.h"
#include "ops/cpu/simd.h"

namespace ember::cpu {

template <typename T>
struct BlasEngine {
  void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, bool accumulate, T* c, std::int64_t ldc) {
    cpu::gemm<T>(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, accumulate ? T(1) : T(0), c, ldc);
  }
  T max(const T* x, std::int64_t n) { return *std::max_element(x, x + n); }
  // x[j] = exp(x[j] - shift); returns their sum.
  T exp_shifted_sum(T* x, std::int64_t n, T shift) {
    T sum = 0;
    for (std::int64_t j = 0; j < n; ++j) sum += x[j] = std::exp(x[j] - shift);
    return sum;
  }
  // p[j] = exp(p[j] - lse), dp[j] = p[j] (dp[j] - delta).
  void softmax_grad(T* p, T* dp, std::int64_t n, T lse, T delta) {
    for (std::int64_t j = 0; j < n; ++j) {
      p[j] = std::exp(p[j] - lse);
      dp[j] = p[j] * (dp[j] - delta);
    }
  }
  void scale(T* x, std::int64_t n, T factor) {
    for (std::int64_t j = 0; j < n; ++j) x[j] *= factor;
  }
};

struct SimdEngine {
  const FloatTileKernels* k;
  std::vector<float> b_transposed;  // op(B) when B comes transposed: the tiles read B row-major

  void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* a,
            std::int64_t lda, const float* b, std::int64_t ldb, bool accumulate, float* c, std::int64_t ldc) {
    if (trans_b) {  // B is stored (N x K): copy it out as (K x N)
      b_transposed.resize(static_cast<std::size_t>(K * N));
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t i = 0; i < K; ++i) b_transposed[i * N + n] = b[n * ldb + i];
      b = b_transposed.data();
      ldb = N;
    }
    k->gemm(M, N, K, alpha, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, ldb, accumulate, c, ldc);
  }
  float max(const float* x, std::int64_t n) { return k->max(x, n); }
  float exp_shifted_sum(float* x, std::int64_t n, float shift) { return k->exp_shifted_sum(x, n, shift); }
  void softmax_grad(float* p, float* dp, std::int64_t n, float lse, float delta) {
    k->softmax_grad(p, dp, n, lse, delta);
  }
  void scale(float* x, std::int64_t n, float factor) { k->scale(x, n, factor); }
};

// Runs fn.template operator()<T>(engine) with the engine for the dtype and the CPU's active level.
template <typename Fn>
void with_engine(DType dtype, const char* op, Fn&& fn) {
  dispatch_floating(dtype, op, [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      if (const FloatTileKernels* k = float_tile_kernels(active_simd_level())) {
        fn.template operator()<T>(SimdEngine{k, {}});
        return;
      }
    }
    fn.template operator()<T>(BlasEngine<T>{});
  });
}

}  // namespace ember::cpu
