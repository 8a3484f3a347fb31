// The seed study's crossover method (apps/copy_task/seed_study.h) reproduces the seed's own
// answer from the seed's own timings: fits a = 225.90, b = 0.047136, c = 597.57, d = 148.30 and
// a larger root of 3148.7 (the seed reports ceil = 3149).
#include "../apps/copy_task/seed_study.h"

#include "helpers.h"

using namespace copy_task;

TEST_CASE("seed crossover method: the seed's numbers give N = 3148.7") {
  auto fit = seed_crossover_from_seed_table();
  REQUIRE(fit.has_value());
  CHECK(fit->softmax.intercept == doctest::Approx(225.90).epsilon(1e-4));
  CHECK(fit->softmax.slope == doctest::Approx(0.047136).epsilon(1e-4));
  CHECK(fit->linear.intercept == doctest::Approx(597.57).epsilon(1e-4));
  CHECK(fit->linear.slope == doctest::Approx(148.30).epsilon(1e-4));
  REQUIRE(fit->n.has_value());
  CHECK(*fit->n == doctest::Approx(3148.70).epsilon(1e-5));
  CHECK(std::ceil(*fit->n) == kSeedCrossover);
}

TEST_CASE("seed crossover method: no crossover when the fitted softmax does not grow") {
  auto fit = seed_method_crossover({8, 16, 32, 64}, {5, 5, 5, 5}, {1, 2, 3, 4});
  REQUIRE(fit.has_value());
  CHECK_FALSE(fit->n.has_value());
  CHECK_FALSE(seed_method_crossover({8}, {1}, {2}).has_value());
}
