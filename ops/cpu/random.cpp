// CPU random fill: one Philox counter per element (per four for Bernoulli masks), so any split
// across threads gives the same values.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/cpu/loops.h"
#include "ops/random.h"

namespace ember::cpu {
namespace {

using kernels::Distribution;

// Philox4x32-10 for 8 consecutive counters at once. Each 32-bit word sits in a 64-bit lane, so the
// 32 x 32 -> 64-bit products of the rounds map onto vector multiplies. Bit-identical to philox().
using Lanes = std::uint64_t __attribute__((vector_size(64)));
constexpr int kLanes = 8;

void philox8(std::uint64_t seed, std::uint64_t first_counter, std::uint32_t words[4][kLanes]) {
  constexpr std::uint64_t kLow = 0xFFFFFFFFull;
  Lanes c0, c1, c2 = {}, c3 = {};
  for (int l = 0; l < kLanes; ++l) {
    const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(l);
    c0[l] = counter & kLow;
    c1[l] = counter >> 32;
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
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
  for (int l = 0; l < kLanes; ++l) {
    words[0][l] = static_cast<std::uint32_t>(c0[l]);
    words[1][l] = static_cast<std::uint32_t>(c1[l]);
    words[2][l] = static_cast<std::uint32_t>(c2[l]);
    words[3][l] = static_cast<std::uint32_t>(c3[l]);
  }
}

template <Distribution dist>
double sample(double a, double b, std::uint32_t w0, std::uint32_t w1, std::uint32_t w2, std::uint32_t w3) {
  const double u = philox_uniform(w0, w1);  // (0, 1]
  if constexpr (dist == Distribution::Normal) {
    return a + b * std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * philox_uniform(w2, w3));
  } else if constexpr (dist == Distribution::Uniform) {
    return a + (b - a) * (1.0 - u);
  } else if constexpr (dist == Distribution::Integer) {
    return std::floor(a + (b - a) * (1.0 - u));
  }
}

// Element i is a function of philox(seed, offset + i) only; blocks of 8 run the vector Philox.
template <typename T, Distribution dist>
void fill_random(T* out, std::int64_t n, double a, double b, std::uint64_t seed, std::uint64_t offset) {
  const std::int64_t blocks = (n + kLanes - 1) / kLanes;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain / 4)
  for (std::int64_t block = 0; block < blocks; ++block) {
    std::uint32_t w[4][kLanes];
    const std::int64_t first = block * kLanes;
    philox8(seed, offset + static_cast<std::uint64_t>(first), w);
    const int count = static_cast<int>(std::min<std::int64_t>(kLanes, n - first));
    for (int l = 0; l < count; ++l) out[first + l] = static_cast<T>(sample<dist>(a, b, w[0][l], w[1][l], w[2][l], w[3][l]));
  }
}

// Bernoulli masks take all four words of each counter (ops/random.h): blocks of 32 elements per
// vector Philox call, and an integer-valued compare instead of a double uniform.
template <typename T>
void fill_bernoulli(T* out, std::int64_t n, double keep, double value, std::uint64_t seed, std::uint64_t offset) {
  constexpr std::int64_t kPerBlock = 4 * kLanes;
  // A 32-bit word w is below keep * 2^32 (exact: a power-of-two scaling) iff w < ceil(keep * 2^32).
  const auto limit = static_cast<std::uint64_t>(std::ceil(keep * 4294967296.0));
  const T kept = static_cast<T>(value);
  const std::int64_t blocks = (n + kPerBlock - 1) / kPerBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain / 4)
  for (std::int64_t block = 0; block < blocks; ++block) {
    std::uint32_t w[4][kLanes];
    const std::int64_t first = block * kPerBlock;
    philox8(seed, offset + static_cast<std::uint64_t>(first / 4), w);
    // Element first + e uses counter first/4 + e/4 (lane e/4), word e % 4.
    T mask[kPerBlock];
    for (int lane = 0; lane < kLanes; ++lane)
      for (int word = 0; word < 4; ++word) mask[4 * lane + word] = std::uint64_t{w[word][lane]} < limit ? kept : T(0);
    const auto count = static_cast<std::size_t>(std::min<std::int64_t>(kPerBlock, n - first));
    std::copy(mask, mask + count, out + first);
  }
}

void random_cpu(const Tensor& out, Distribution dist, double a, double b, std::uint64_t seed,
                std::uint64_t offset) {
  dispatch_all(out.dtype(), [&]<typename T>() {
    T* p = out.data_ptr<T>();
    const std::int64_t n = out.numel();
    switch (dist) {
      case Distribution::Normal: return fill_random<T, Distribution::Normal>(p, n, a, b, seed, offset);
      case Distribution::Uniform: return fill_random<T, Distribution::Uniform>(p, n, a, b, seed, offset);
      case Distribution::Integer: return fill_random<T, Distribution::Integer>(p, n, a, b, seed, offset);
      case Distribution::Bernoulli: return fill_bernoulli<T>(p, n, a, b, seed, offset);
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::random_stub, DeviceType::CPU, random_cpu);

}  // namespace ember::cpu
