// Statistics over the K seeds of one (attention kind, N): the mean, the sample standard deviation
// and the half-width of the two-sided 95 % confidence interval of the mean, mean ± t s / sqrt(K),
// with t the 0.975 quantile of Student's t with K - 1 degrees of freedom. The quantiles for 1 to
// 30 degrees of freedom come from a table (4 decimals); beyond 30 the normal 1.96 stands in, which
// makes the interval at most 4 % too narrow. Standard library only, so that
// tests/copy_task/test_seed_stats.cpp checks it against hand-computed values.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace copy_task {

// The 0.975 quantile of Student's t with `degrees_of_freedom` (>= 1) degrees of freedom.
double t_quantile_975(std::size_t degrees_of_freedom);

struct SeedSummary {
  std::size_t count = 0;
  double mean = 0;
  double stddev = 0;                 // sample standard deviation (divides by count - 1); 0 for one value
  std::optional<double> half_width;  // of the 95 % interval; none for fewer than 2 values
};

// The summary of `values` (one per seed); count 0 and mean 0 for none.
SeedSummary summarize(const std::vector<double>& values);

}  // namespace copy_task
