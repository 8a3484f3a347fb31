// simd.h's float kernels for AVX-512 (16 lanes, 8 x 32 GEMM tiles in 16 of the 32 registers).
// Compiled with -mavx512f -mavx512dq -mfma (CMakeLists.txt) and run only where the CPU has them.
#if defined(__x86_64__)
#include <immintrin.h>

#include "ops/cpu/simd_tiles.h"

namespace ember::cpu {
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int lanes = 16, tile_rows = 8;
  static __mmask16 first(int n) { return static_cast<__mmask16>(0xFFFFu >> (16 - n)); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load_first(const float* p, int n, float fill) { return _mm512_mask_loadu_ps(set1(fill), first(n), p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static void store_first(float* p, reg v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static float sum(reg v) { return _mm512_reduce_add_ps(v); }
  static float maximum(reg v) { return _mm512_reduce_max_ps(v); }
  static reg exp(reg x) {
    // Clamped so that n stays finite (max keeps a NaN x: it returns its second operand); scalef
    // then rounds 2^n to 0 or inf, denormals included, as std::exp does.
    x = _mm512_min_ps(set1(89.0f), _mm512_max_ps(set1(-104.0f), x));
    const reg n = _mm512_roundscale_ps(mul(x, set1(ExpPolynomial::log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm512_fnmadd_ps(n, set1(ExpPolynomial::ln2_high), x);
    r = _mm512_fnmadd_ps(n, set1(ExpPolynomial::ln2_low), r);
    return _mm512_scalef_ps(exp_reduced<Avx512>(r), n);
  }
};

constexpr FloatTileKernels kAvx512 = make_tile_kernels<Avx512>();

}  // namespace

const FloatTileKernels& avx512_tile_kernels() { return kAvx512; }

}  // namespace ember::cpu
#endif  // __x86_64__
