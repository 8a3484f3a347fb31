// CPU random fill: one Philox counter per element (per four for Bernoulli masks), so any split
// across threads gives the same values.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/cpu/loops.h"
#include "ops/cpu/philox_lanes.h"
#include "ops/random.h"

namespace ember::cpu {
namespace {

using kernels::Distribution;

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
  const std::int64_t blocks = (n + kPhiloxLanes - 1) / kPhiloxLanes;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain / 4)
  for (std::int64_t block = 0; block < blocks; ++block) {
    std::uint32_t w[4][kPhiloxLanes];
    const std::int64_t first = block * kPhiloxLanes;
    philox8(seed, offset + static_cast<std::uint64_t>(first), w);
    const int count = static_cast<int>(std::min<std::int64_t>(kPhiloxLanes, n - first));
    for (int l = 0; l < count; ++l) out[first + l] = static_cast<T>(sample<dist>(a, b, w[0][l], w[1][l], w[2][l], w[3][l]));
  }
}

// Bernoulli masks take all four words of each counter (ops/random.h): blocks of 32 elements per
// vector Philox call, and an integer-valued compare instead of a double uniform.
template <typename T>
void fill_bernoulli(T* out, std::int64_t n, double keep, double value, std::uint64_t seed, std::uint64_t offset) {
  constexpr std::int64_t kPerBlock = 4 * kPhiloxLanes;
  // A 32-bit word w is below keep * 2^32 (exact: a power-of-two scaling) iff w < ceil(keep * 2^32).
  const auto limit = static_cast<std::uint64_t>(std::ceil(keep * 4294967296.0));
  const T kept = static_cast<T>(value);
  const std::int64_t blocks = (n + kPerBlock - 1) / kPerBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain / 4)
  for (std::int64_t block = 0; block < blocks; ++block) {
    std::uint32_t w[4][kPhiloxLanes];
    const std::int64_t first = block * kPerBlock;
    philox8(seed, offset + static_cast<std::uint64_t>(first / 4), w);
    // Element first + e uses counter first/4 + e/4 (lane e/4), word e % 4.
    T mask[kPerBlock];
    for (int lane = 0; lane < kPhiloxLanes; ++lane)
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
