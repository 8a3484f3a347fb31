// The hand-vectorised float32 kernels of ops/cpu/simd.h, every instruction set this CPU has (AVX2
// always where the CPU has it, AVX-512 where it has that too), against plain loops in double:
// the tile GEMM over ragged shapes, both A layouts and accumulation; max; exp (accuracy across
// the range, underflow to 0, NaN in gives NaN out); the softmax row steps.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "helpers.h"
#include "ops/cpu/simd.h"

using namespace ember;
using namespace ember::cpu;

namespace {

std::vector<SimdLevel> levels_here() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level : {SimdLevel::Avx2, SimdLevel::Avx512})
    if (static_cast<int>(level) <= static_cast<int>(detected_simd_level())) levels.push_back(level);
  return levels;
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float low = -1.0f, float high = 1.0f) {
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// |a - b| in units of b's float spacing.
double ulps(float a, float b) { return std::abs(double(a) - double(b)) / std::abs(std::nextafter(b, 2 * b + 1) - b); }

}  // namespace

TEST_CASE("simd: the detected level is one the CPU has, and a guard cannot raise it") {
  const SimdLevel detected = detected_simd_level();
  MESSAGE("SIMD level of this CPU: " << std::string(simd_level_name(detected)));
  CHECK(active_simd_level() == detected);
  {
    ScopedSimdLevel generic(SimdLevel::Generic);
    CHECK(active_simd_level() == SimdLevel::Generic);
    CHECK(float_tile_kernels(active_simd_level()) == nullptr);
  }
  CHECK(active_simd_level() == detected);
  if (detected != SimdLevel::Avx512) {
    CHECK_THROWS_WITH_AS(ScopedSimdLevel(SimdLevel::Avx512), doctest::Contains("ScopedSimdLevel"), Error);
  }
}

TEST_CASE("simd: tile GEMM equals the triple loop for ragged shapes, both A layouts, accumulation") {
  if (levels_here().empty()) EMBER_SKIP("this CPU has no AVX2: the attention kernels use BLAS and std::exp");
  std::mt19937 rng(7);
  for (SimdLevel level : levels_here()) {
    const FloatTileKernels& k = *float_tile_kernels(level);
    for (std::int64_t rows : {1, 5, 7, 8, 13, 64})
      for (std::int64_t cols : {1, 8, 9, 16, 17, 31, 33, 64})
        for (std::int64_t depth : {0, 1, 3, 64})
          for (bool transposed : {false, true})
            for (bool accumulate : {false, true}) {
              INFO(std::string(simd_level_name(level)) << " rows " << rows << " cols " << cols << " depth " << depth
                                          << " transposed " << transposed << " accumulate " << accumulate);
              const std::int64_t lda = 70, ldb = 71, ldc = 72;  // padded: nothing past the shape is touched
              std::vector<float> a = random_floats(70 * 70, rng), b = random_floats(70 * ldb, rng);
              std::vector<float> c = random_floats(70 * ldc, rng), before = c;
              const std::int64_t a_row = transposed ? 1 : lda, a_col = transposed ? lda : 1;
              k.gemm(rows, cols, depth, 0.5f, a.data(), a_row, a_col, b.data(), ldb, accumulate, c.data(), ldc);
              double worst = 0;
              bool untouched = true;
              for (std::int64_t i = 0; i < 70; ++i)
                for (std::int64_t j = 0; j < ldc; ++j) {
                  if (i >= rows || j >= cols) {
                    untouched = untouched && c[i * ldc + j] == before[i * ldc + j];
                    continue;
                  }
                  double expected = accumulate ? before[i * ldc + j] : 0.0;
                  for (std::int64_t p = 0; p < depth; ++p) expected += 0.5 * a[i * a_row + p * a_col] * b[p * ldb + j];
                  worst = std::max(worst, std::abs(expected - c[i * ldc + j]));
                }
              CHECK(worst < 1e-5);
              CHECK(untouched);
            }
  }
}

TEST_CASE("simd: exp is within 4 ulp of std::exp, underflows to 0 and keeps NaN") {
  if (levels_here().empty()) EMBER_SKIP("this CPU has no AVX2: the attention kernels use BLAS and std::exp");
  std::mt19937 rng(8);
  for (SimdLevel level : levels_here()) {
    INFO(std::string(simd_level_name(level)));
    const FloatTileKernels& k = *float_tile_kernels(level);
    // exp(x - 0) over [-87, 10] for n = 1 ... 37 (full vectors and ragged tails), summed.
    for (std::int64_t n : {1, 7, 8, 15, 16, 17, 37}) {
      std::vector<float> x = random_floats(static_cast<std::size_t>(n), rng, -87.0f, 10.0f), e = x;
      const float sum = k.exp_shifted_sum(e.data(), n, 0.0f);
      double worst = 0, expected_sum = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        worst = std::max(worst, ulps(e[j], std::exp(x[j])));
        expected_sum += std::exp(double(x[j]));
      }
      CHECK(worst <= 4);
      CHECK(sum == doctest::Approx(expected_sum).epsilon(1e-6));
    }
    std::vector<float> edge = {-1000.0f, -std::numeric_limits<float>::infinity(), std::nanf(""), 0.0f, -0.5f};
    const float edge_sum = k.exp_shifted_sum(edge.data(), static_cast<std::int64_t>(edge.size()), 0.5f);
    CHECK(edge[0] == 0.0f);
    CHECK(edge[1] == 0.0f);
    CHECK(std::isnan(edge[2]));
    CHECK(edge[3] == doctest::Approx(std::exp(-0.5)).epsilon(1e-6));
    CHECK(edge[4] == doctest::Approx(std::exp(-1.0)).epsilon(1e-6));
    CHECK(std::isnan(edge_sum));
  }
}

TEST_CASE("simd: max, scale and the softmax-gradient row step") {
  if (levels_here().empty()) EMBER_SKIP("this CPU has no AVX2: the attention kernels use BLAS and std::exp");
  std::mt19937 rng(9);
  for (SimdLevel level : levels_here()) {
    const FloatTileKernels& k = *float_tile_kernels(level);
    for (std::int64_t n : {1, 9, 16, 23, 64}) {
      INFO(std::string(simd_level_name(level)) << " n " << n);
      std::vector<float> x = random_floats(static_cast<std::size_t>(n) + 8, rng, -5.0f, 5.0f);
      x[static_cast<std::size_t>(n)] = 100.0f;  // past the end: must not be seen
      float expected_max = x[0];
      for (std::int64_t j = 1; j < n; ++j) expected_max = std::max(expected_max, x[j]);
      CHECK(k.max(x.data(), n) == expected_max);

      std::vector<float> scaled = x;
      k.scale(scaled.data(), n, -2.0f);
      for (std::int64_t j = 0; j < n; ++j) CHECK(scaled[j] == -2.0f * x[j]);
      CHECK(scaled[n] == 100.0f);

      std::vector<float> p = x, dp = random_floats(x.size(), rng);
      const std::vector<float> dp_in = dp;
      k.softmax_grad(p.data(), dp.data(), n, 1.5f, 0.25f);
      for (std::int64_t j = 0; j < n; ++j) {
        const double prob = std::exp(double(x[j]) - 1.5);
        CHECK(p[j] == doctest::Approx(prob).epsilon(1e-6));
        CHECK(dp[j] == doctest::Approx(prob * (dp_in[j] - 0.25)).epsilon(1e-5));
      }
      CHECK(p[n] == 100.0f);
      CHECK(dp[n] == dp_in[n]);
    }
    CHECK(k.max(nullptr, 0) == -std::numeric_limits<float>::infinity());
  }
}
