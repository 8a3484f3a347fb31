// Hand-vectorised float32 building blocks for the CPU attention kernels, one set per instruction
// set (AVX-512 and AVX2+FMA, chosen at run time from what the CPU has), so the same binary runs
// everywhere and uses the widest registers it finds:
//   - a register-tiled GEMM for the small (64 x 64) tiles of fused attention, reading its
//     operands in place (no packing, unlike a BLAS call) with any row/column stride for A;
//   - the online-softmax row steps with exp by a polynomial (about 2 ulp of std::exp; results
//     below FLT_MIN are flushed to 0 on the AVX2 path).
// Generic (no AVX2) means "no tiles here": callers fall back to BLAS and std::exp.
#pragma once

#include <cstdint>

namespace ember::cpu {

enum class SimdLevel { Generic, Avx2, Avx512 };

const char* simd_level_name(SimdLevel level);

// The widest level this CPU supports (fixed for the process).
SimdLevel detected_simd_level();

// The level kernels use now: the detected one unless a ScopedSimdLevel lowered it.
SimdLevel active_simd_level();

// Lowers the level the calling process's kernels use while it lives (tests run every path the
// machine has). Asking for more than the CPU has throws ember::Error. Not for concurrent use
// with other guards.
class ScopedSimdLevel {
 public:
  explicit ScopedSimdLevel(SimdLevel level);
  ~ScopedSimdLevel();
  ScopedSimdLevel(const ScopedSimdLevel&) = delete;
  ScopedSimdLevel& operator=(const ScopedSimdLevel&) = delete;

 private:
  SimdLevel previous_;
};

struct FloatTileKernels {
  // C (rows x cols) = alpha * A B (+ C when accumulate). A(i, k) = a[i * a_row + k * a_col] (so a
  // transposed A is a_row = 1), B is row-major with leading dimension ldb, C with ldc.
  void (*gemm)(std::int64_t rows, std::int64_t cols, std::int64_t depth, float alpha, const float* a,
               std::int64_t a_row, std::int64_t a_col, const float* b, std::int64_t ldb, bool accumulate, float* c,
               std::int64_t ldc);
  // max of x[0..n) (-inf for n == 0).
  float (*max)(const float* x, std::int64_t n);
  // x[j] = exp(x[j] - shift) for j < n; returns their sum.
  float (*exp_shifted_sum)(float* x, std::int64_t n, float shift);
  // Softmax backward of one row: p[j] = exp(p[j] - lse) (p holds scores), dp[j] = p[j] (dp[j] - delta).
  void (*softmax_grad)(float* p, float* dp, std::int64_t n, float lse, float delta);
  // x[j] *= factor.
  void (*scale)(float* x, std::int64_t n, float factor);
};

// The kernels of `level`; nullptr for Generic.
const FloatTileKernels* float_tile_kernels(SimdLevel level);

// Entry points of the instruction-set files (simd_avx2.cpp, simd_avx512.cpp).
const FloatTileKernels& avx2_tile_kernels();
const FloatTileKernels& avx512_tile_kernels();

}  // namespace ember::cpu
