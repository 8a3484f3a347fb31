// The statistics over seeds (apps/copy_task/seed_stats.h) against values worked out by hand:
// Student's t quantiles from the printed table, means, sample standard deviations and the 95 %
// interval's half-width t * s / sqrt(K).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "copy_task/seed_stats.h"

using namespace copy_task;

TEST_CASE("copy task: t(0.975, df) follows the printed table, then the normal 1.96") {
  CHECK(t_quantile_975(1) == doctest::Approx(12.706).epsilon(1e-4));
  CHECK(t_quantile_975(2) == doctest::Approx(4.303).epsilon(1e-4));
  CHECK(t_quantile_975(3) == doctest::Approx(3.182).epsilon(1e-4));
  CHECK(t_quantile_975(10) == doctest::Approx(2.228).epsilon(1e-4));
  CHECK(t_quantile_975(30) == doctest::Approx(2.042).epsilon(1e-4));
  CHECK(t_quantile_975(31) == 1.96);
  CHECK(t_quantile_975(1000) == 1.96);
  CHECK(std::isnan(t_quantile_975(0)));
  for (std::size_t df = 1; df < 30; ++df) CHECK(t_quantile_975(df) > t_quantile_975(df + 1));  // narrows with df
}

TEST_CASE("copy task: seed summaries by hand") {
  SUBCASE("no value") {
    const SeedSummary s = summarize({});
    CHECK(s.count == 0);
    CHECK_FALSE(s.half_width);
  }
  SUBCASE("one seed: the value, no interval") {
    const SeedSummary s = summarize({0.75});
    CHECK(s.count == 1);
    CHECK(s.mean == 0.75);
    CHECK(s.stddev == 0);
    CHECK_FALSE(s.half_width);
  }
  SUBCASE("two seeds: s = |a - b| / sqrt(2), half-width 12.706 * s / sqrt(2) = 12.706 * |a - b| / 2") {
    const SeedSummary s = summarize({2, 4});
    CHECK(s.mean == 3);
    CHECK(s.stddev == doctest::Approx(std::sqrt(2.0)));
    REQUIRE(s.half_width);
    CHECK(*s.half_width == doctest::Approx(12.7062));
  }
  SUBCASE("1, 2, 3: mean 2, s = 1, half-width 4.303 / sqrt(3) = 2.484") {
    const SeedSummary s = summarize({1, 2, 3});
    CHECK(s.mean == doctest::Approx(2));
    CHECK(s.stddev == doctest::Approx(1));
    REQUIRE(s.half_width);
    CHECK(*s.half_width == doctest::Approx(2.4842).epsilon(1e-4));
  }
  SUBCASE("equal values: no spread, an interval of width 0") {
    const SeedSummary s = summarize({0.5, 0.5, 0.5, 0.5});
    CHECK(s.stddev == 0);
    REQUIRE(s.half_width);
    CHECK(*s.half_width == 0);
  }
  SUBCASE("40 seeds, 0 and 1 alternating: s = sqrt(10/39), half-width 1.96 s / sqrt(40) = 0.1569") {
    std::vector<double> values;
    for (int i = 0; i < 40; ++i) values.push_back(i % 2);
    const SeedSummary s = summarize(values);
    CHECK(s.mean == doctest::Approx(0.5));
    CHECK(s.stddev == doctest::Approx(std::sqrt(10.0 / 39.0)));
    REQUIRE(s.half_width);
    CHECK(*s.half_width == doctest::Approx(0.15692).epsilon(1e-4));
  }
}
