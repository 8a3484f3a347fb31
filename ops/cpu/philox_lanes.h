// Philox4x32-10 (core/random.h) for 8 consecutive counters at once, bit-identical to philox(): the
// CPU random fills (random.cpp) and fused attention's dropout (sdpa.cpp) draw their words here.
// When the build targets AVX2 (EMBER_NATIVE's -march=native on such a CPU) each round's two
// 32 x 32 -> 64-bit products run as vpmuludq on the even and the odd lanes; otherwise GCC's vector
// extensions hold each word in a 64-bit lane, whose multiply AVX2 lacks (it costs about three times
// as much there, in shifts and adds).
#pragma once

#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ember::cpu {

inline constexpr int kPhiloxLanes = 8;

// words[w][l] = philox(seed, first_counter + l)[w] for l < kPhiloxLanes.
inline void philox8(std::uint64_t seed, std::uint64_t first_counter, std::uint32_t words[4][kPhiloxLanes]) {
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
#if defined(__AVX2__)
  alignas(32) std::uint32_t low[kPhiloxLanes], high[kPhiloxLanes];
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(l);
    low[l] = static_cast<std::uint32_t>(counter);
    high[l] = static_cast<std::uint32_t>(counter >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(low));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(high));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  // The 64-bit products of the even lanes stay in place; the odd lanes are shifted down first.
  // 0xAA takes the odd 32-bit lanes from the second operand.
  const auto multiply = [](__m256i c, __m256i m, __m256i& lo, __m256i& hi) {
    const __m256i even = _mm256_mul_epu32(c, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  };
  for (int round = 0; round < 10; ++round) {
    __m256i lo0, hi0, lo1, hi1;
    multiply(c0, m0, lo0, hi0);
    multiply(c2, m1, lo1, hi1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(words[0]), c0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(words[1]), c1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(words[2]), c2);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(words[3]), c3);
#else
  using Lanes = std::uint64_t __attribute__((vector_size(8 * kPhiloxLanes)));
  constexpr std::uint64_t kLow = 0xFFFFFFFFull;
  Lanes c0, c1, c2 = {}, c3 = {};
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(l);
    c0[l] = counter & kLow;
    c1[l] = counter >> 32;
  }
  for (int round = 0; round < 10; ++round) {
    const Lanes p0 = c0 * 0xD2511F53ull, p1 = c2 * 0xCD9E8D57ull;
    const Lanes n0 = (p1 >> 32) ^ c1 ^ static_cast<std::uint64_t>(k0);
    const Lanes n2 = (p0 >> 32) ^ c3 ^ static_cast<std::uint64_t>(k1);
    c1 = p1 & kLow;
    c3 = p0 & kLow;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int l = 0; l < kPhiloxLanes; ++l) {
    words[0][l] = static_cast<std::uint32_t>(c0[l]);
    words[1][l] = static_cast<std::uint32_t>(c1[l]);
    words[2][l] = static_cast<std::uint32_t>(c2[l]);
    words[3][l] = static_cast<std::uint32_t>(c3[l]);
  }
#endif
}

}  // namespace ember::cpu
