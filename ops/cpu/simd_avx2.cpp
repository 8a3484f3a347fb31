// simd.h's float kernels for AVX2 with FMA (8 lanes, 6 x 16 GEMM tiles in 12 of the 16
// registers). Compiled with -mavx2 -mfma -mno-avx512f (CMakeLists.txt), so it is the code an
// AVX2-only CPU runs even in a -march=native build on an AVX-512 machine.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ops/cpu/simd_tiles.h"

namespace ember::cpu {
namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr int lanes = 8, tile_rows = 6;
  static __m256i first(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg load_first(const float* p, int n, float fill) {
    const __m256i mask = first(n);
    return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
  }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static void store_first(float* p, reg v, int n) { _mm256_maskstore_ps(p, first(n), v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static __m128 halves_sum(reg v) { return _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); }
  static float sum(reg v) {
    __m128 s = halves_sum(v);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static float maximum(reg v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static reg exp(reg x) {
    // No scalef here: 2^n is built in the exponent bits, so n is kept in [-126, 127]: results
    // below FLT_MIN (x < -87.34) are flushed to 0, x > 88.72 gives inf, and x in (88.3, 88.72] is
    // taken as 88.3 (the kernels only exponentiate x <= 0). Comparisons are false and min/max
    // return their second operand for a NaN x, which therefore stays NaN.
    const reg underflow = _mm256_cmp_ps(x, set1(-87.33654f), _CMP_LT_OQ);
    const reg overflow = _mm256_cmp_ps(x, set1(88.72283f), _CMP_GT_OQ);
    x = _mm256_min_ps(set1(88.3f), _mm256_max_ps(set1(-87.33654f), x));
    const reg n = _mm256_round_ps(mul(x, set1(ExpPolynomial::log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm256_fnmadd_ps(n, set1(ExpPolynomial::ln2_high), x);
    r = _mm256_fnmadd_ps(n, set1(ExpPolynomial::ln2_low), r);
    const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const reg value = mul(exp_reduced<Avx2>(r), _mm256_castsi256_ps(exponent));
    return _mm256_blendv_ps(_mm256_andnot_ps(underflow, value), set1(__builtin_inff()), overflow);
  }
};

constexpr FloatTileKernels kAvx2 = make_tile_kernels<Avx2>();

}  // namespace

const FloatTileKernels& avx2_tile_kernels() { return kAvx2; }

}  // namespace ember::cpu
#endif  // __x86_64__
