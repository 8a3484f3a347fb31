// The FloatTileKernels of simd.h written once over a vector type V, included only by the
// instruction-set files (simd_avx2.cpp, simd_avx512.cpp), each compiled for its own ISA with its own
// V. Everything here has internal linkage and uses no library templates, so no function compiled
// for one ISA can be shared, through the linker, with code that runs on a CPU without it.
//
// V provides: reg, lanes, tile_rows; zero, set1, load, load_first(p, n, fill) (lanes past n are
// `fill`), store, store_first(p, v, n), fmadd(a, b, c) = a b + c, mul, add, sub, max, sum, maximum,
// and exp (polynomial, NaN in gives NaN out).
#pragma once

#include <cstdint>

#include "ops/cpu/simd.h"

namespace ember::cpu {
namespace {

using Index = std::int64_t;

// C tile (R rows x W vectors, the last one `last_lanes` wide) = alpha * A B (+ C). Full: the last
// vector is whole too, so every load and store is a plain one. Masked loads and stores cost far
// more than plain ones on some CPUs (AMD Zen 2 microcodes a masked 256-bit store: ~12 cycles against
// 1), and a 64 x 64 x 64 tile product would spend a third of its time in them; only a strip's
// ragged edge takes the masked path.
template <class V, int R, int W, bool Full>
inline void gemm_tile(Index depth, float alpha, const float* a, Index a_row, Index a_col, const float* b, Index ldb,
                      int last_lanes, bool accumulate, float* c, Index ldc) {
  typename V::reg acc[R][W];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) acc[r][w] = V::zero();
  for (Index k = 0; k < depth; ++k) {
    const float* b_row = b + k * ldb;
    typename V::reg bv[W];
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w)
      bv[w] = Full || w + 1 < W ? V::load(b_row + w * V::lanes)
                                : V::load_first(b_row + w * V::lanes, last_lanes, 0.0f);
    const float* a_k = a + k * a_col;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const typename V::reg av = V::set1(a_k[r * a_row]);
#pragma GCC unroll 4
      for (int w = 0; w < W; ++w) acc[r][w] = V::fmadd(av, bv[w], acc[r][w]);
    }
  }
  const typename V::reg alpha_v = V::set1(alpha);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int w = 0; w < W; ++w) {
      float* cp = c + r * ldc + w * V::lanes;
      typename V::reg value = V::mul(acc[r][w], alpha_v);
      if (Full || w + 1 < W) {
        if (accumulate) value = V::add(value, V::load(cp));
        V::store(cp, value);
      } else {
        if (accumulate) value = V::add(value, V::load_first(cp, last_lanes, 0.0f));
        V::store_first(cp, value, last_lanes);
      }
    }
  }
}

// One column strip of W vectors, all rows: full R-row tiles, then one tile of the rows left.
template <class V, int W, bool Full, int R = V::tile_rows>
inline void gemm_rows(Index rows, Index depth, float alpha, const float* a, Index a_row, Index a_col, const float* b,
                      Index ldb, int last_lanes, bool accumulate, float* c, Index ldc) {
  if constexpr (R == V::tile_rows) {
    for (; rows >= R; rows -= R, a += R * a_row, c += R * ldc)
      gemm_tile<V, R, W, Full>(depth, alpha, a, a_row, a_col, b, ldb, last_lanes, accumulate, c, ldc);
  }
  if constexpr (R > 1) {
    if (rows == R - 1) {
      gemm_tile<V, R - 1, W, Full>(depth, alpha, a, a_row, a_col, b, ldb, last_lanes, accumulate, c, ldc);
    } else if (rows > 0) {
      gemm_rows<V, W, Full, R - 1>(rows, depth, alpha, a, a_row, a_col, b, ldb, last_lanes, accumulate, c, ldc);
    }
  }
}

template <class V>
void gemm(Index rows, Index cols, Index depth, float alpha, const float* a, Index a_row, Index a_col, const float* b,
          Index ldb, bool accumulate, float* c, Index ldc) {
  constexpr Index strip = 2 * V::lanes;
  Index j = 0;
  for (; j + strip <= cols; j += strip)
    gemm_rows<V, 2, true>(rows, depth, alpha, a, a_row, a_col, b + j, ldb, V::lanes, accumulate, c + j, ldc);
  const Index left = cols - j;  // < strip: one ragged strip of 2 vectors, or 1 (whole or not)
  if (left > V::lanes) {
    gemm_rows<V, 2, false>(rows, depth, alpha, a, a_row, a_col, b + j, ldb, static_cast<int>(left - V::lanes),
                           accumulate, c + j, ldc);
  } else if (left == V::lanes) {
    gemm_rows<V, 1, true>(rows, depth, alpha, a, a_row, a_col, b + j, ldb, V::lanes, accumulate, c + j, ldc);
  } else if (left > 0) {
    gemm_rows<V, 1, false>(rows, depth, alpha, a, a_row, a_col, b + j, ldb, static_cast<int>(left), accumulate,
                           c + j, ldc);
  }
}

template <class V>
float max(const float* x, Index n) {
  constexpr float neg_inf = -__builtin_inff();
  typename V::reg m = V::set1(neg_inf);
  Index j = 0;
  for (; j + V::lanes <= n; j += V::lanes) m = V::max(m, V::load(x + j));
  if (j < n) m = V::max(m, V::load_first(x + j, static_cast<int>(n - j), neg_inf));
  return V::maximum(m);
}

template <class V>
float exp_shifted_sum(float* x, Index n, float shift) {
  const typename V::reg s = V::set1(shift);
  typename V::reg total = V::zero();
  Index j = 0;
  for (; j + V::lanes <= n; j += V::lanes) {
    const typename V::reg e = V::exp(V::sub(V::load(x + j), s));
    V::store(x + j, e);
    total = V::add(total, e);
  }
  if (j < n) {
    const int left = static_cast<int>(n - j);
    // Lanes past n hold -inf - shift: exp gives 0 there, so they add nothing.
    const typename V::reg e = V::exp(V::sub(V::load_first(x + j, left, -__builtin_inff()), s));
    V::store_first(x + j, e, left);
    total = V::add(total, e);
  }
  return V::sum(total);
}

template <class V>
void softmax_grad(float* p, float* dp, Index n, float lse, float delta) {
  const typename V::reg l = V::set1(lse), d = V::set1(delta);
  Index j = 0;
  for (; j + V::lanes <= n; j += V::lanes) {
    const typename V::reg prob = V::exp(V::sub(V::load(p + j), l));
    V::store(p + j, prob);
    V::store(dp + j, V::mul(prob, V::sub(V::load(dp + j), d)));
  }
  if (j < n) {
    const int left = static_cast<int>(n - j);
    const typename V::reg prob = V::exp(V::sub(V::load_first(p + j, left, 0.0f), l));
    V::store_first(p + j, prob, left);
    V::store_first(dp + j, V::mul(prob, V::sub(V::load_first(dp + j, left, 0.0f), d)), left);
  }
}

template <class V>
void scale(float* x, Index n, float factor) {
  const typename V::reg f = V::set1(factor);
  Index j = 0;
  for (; j + V::lanes <= n; j += V::lanes) V::store(x + j, V::mul(V::load(x + j), f));
  if (j < n) V::store_first(x + j, V::mul(V::load_first(x + j, static_cast<int>(n - j), 0.0f), f), static_cast<int>(n - j));
}

template <class V>
constexpr FloatTileKernels make_tile_kernels() {
  return {&gemm<V>, &max<V>, &exp_shifted_sum<V>, &softmax_grad<V>, &scale<V>};
}

// exp(x) for float lanes: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a degree-7 polynomial
// (Cephes' single-precision minimax coefficients), then times 2^n. Shared by both ISAs.
struct ExpPolynomial {
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_high = 0.693359375f, ln2_low = -2.12194440e-4f;
  static constexpr float c[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
};

// exp(r) for the reduced argument (the shared Horner steps): 1 + r + r^2 (c5 + r (c4 + ...)).
template <class V>
inline typename V::reg exp_reduced(typename V::reg r) {
  typename V::reg y = V::set1(ExpPolynomial::c[0]);
#pragma GCC unroll 6
  for (int i = 1; i < 6; ++i) y = V::fmadd(y, r, V::set1(ExpPolynomial::c[i]));
  const typename V::reg r2 = V::mul(r, r);
  return V::add(V::fmadd(y, r2, r), V::set1(1.0f));
}

}  // namespace
}  // namespace ember::cpu
