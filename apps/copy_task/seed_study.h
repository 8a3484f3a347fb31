// The seed study's published timings and its way of extrapolating the crossover, kept apart from
// Ember's own measurements so that a test can check the method against the seed's own answer.
//
// Do & Bergner (2022) timed whole training runs of 3000 steps at batch 8 on an Nvidia Quadro
// P4000 for N = 8, 16, 32, 64 (the article's results table, "Computational time in seconds";
// the same numbers are in their R-script/intersection_calculating.r). They then fitted, by
// ordinary least squares on those 4 points, softmax time = a + b N^2 (no term in N) and linear
// time = c + d N, and took the larger root of a + b N^2 = c + d N as the sequence length from
// which linear attention pays off: N = 3148.7, which they report as 3149.
// Header-only and standard library only: tests/test_seed_crossover.cpp includes it directly.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace copy_task {

struct SeedTiming {
  std::int64_t n;
  double softmax_s;  // total seconds of 3000 steps at batch 8
  double linear_s;
};

// Do & Bergner (2022), results table (bericht.tex, "Computational time of softmax and linear
// Transformer for given sequence lengths"), Quadro P4000.
inline constexpr std::array<SeedTiming, 4> kSeedTable1 = {{
    {8, 221, 1738},
    {16, 236, 3004},
    {32, 287, 5373},
    {64, 416, 10071},
}};
inline constexpr std::int64_t kSeedSteps = 3000;
inline constexpr std::int64_t kSeedBatch = 8;
inline constexpr double kSeedCrossover = 3149;  // the seed's rounded-up extrapolation

struct LineFit {
  double intercept = 0, slope = 0;
};

// Ordinary least squares of y on x; needs two distinct x.
inline std::optional<LineFit> least_squares(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= double(x.size());
  my /= double(x.size());
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  if (sxx <= 0) return std::nullopt;
  return LineFit{my - sxy / sxx * mx, sxy / sxx};
}

struct SeedMethodCrossover {
  LineFit softmax;  // time = intercept + slope * N^2
  LineFit linear;   // time = intercept + slope * N
  std::optional<double> n;  // the larger root, when the fitted curves cross at a positive N
};

// The seed's method on (N, softmax time, linear time) points; nullopt when a fit is impossible.
inline std::optional<SeedMethodCrossover> seed_method_crossover(const std::vector<double>& n,
                                                                const std::vector<double>& softmax_s,
                                                                const std::vector<double>& linear_s) {
  std::vector<double> n2;
  for (double v : n) n2.push_back(v * v);
  auto soft = least_squares(n2, softmax_s), lin = least_squares(n, linear_s);
  if (!soft || !lin) return std::nullopt;
  SeedMethodCrossover out{*soft, *lin, std::nullopt};
  // b N^2 - d N + (a - c) = 0; with b > 0 the fitted softmax stays above linear past the larger root.
  const double b = soft->slope, d = lin->slope, c0 = soft->intercept - lin->intercept;
  const double discriminant = d * d - 4 * b * c0;
  if (b > 0 && discriminant >= 0) {
    const double root = (d + std::sqrt(discriminant)) / (2 * b);
    if (root > 0) out.n = root;
  }
  return out;
}

// The seed's method on the seed's own numbers.
inline std::optional<SeedMethodCrossover> seed_crossover_from_seed_table() {
  std::vector<double> n, soft, lin;
  for (const auto& row : kSeedTable1) {
    n.push_back(double(row.n));
    soft.push_back(row.softmax_s);
    lin.push_back(row.linear_s);
  }
  return seed_method_crossover(n, soft, lin);
}

}  // namespace copy_task
