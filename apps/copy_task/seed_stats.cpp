// Mean, sample standard deviation and Student-t interval over seeds (see seed_stats.h).
#include "seed_stats.h"

#include <array>
#include <cmath>

namespace copy_task {

namespace {

// t(0.975, df) for df = 1..30.
constexpr std::array<double, 30> kT975 = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
                                          2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
                                          2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
                                          2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
constexpr double kNormal975 = 1.96;

}  // namespace

double t_quantile_975(std::size_t degrees_of_freedom) {
  if (degrees_of_freedom == 0) return std::nan("");  // one value has no interval
  if (degrees_of_freedom >= 1 && degrees_of_freedom <= kT975.size()) return kT975[degrees_of_freedom - 1];
  return kNormal975;
}

SeedSummary summarize(const std::vector<double>& values) {
  SeedSummary s;
  s.count = values.size();
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(s.count);
  if (s.count < 2) return s;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(squares / static_cast<double>(s.count - 1));
  s.half_width = t_quantile_975(s.count - 1) * s.stddev / std::sqrt(static_cast<double>(s.count));
  return s;
}

}  // namespace copy_task
