// Attention matrix summaries and the Jacobi SVD behind effective_rank (see attention_metrics.h).
#include "nn/attention_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace ember::nn {

namespace {

// The checked matrix of a metric: 2-D, float64, CPU, contiguous (a copy when strided).
Tensor checked_matrix(const Tensor& a, const char* function) {
  EMBER_CHECK(a.defined() && a.dim() == 2 && a.dtype() == kFloat64 && a.device() == kCPU,
              "{}: expected a 2-D float64 CPU matrix (queries, keys), got {}", function,
              a.defined() ? fmt::format("{} {} on {}", a.dtype(), a.shape(), a.device()) : std::string("undefined"));
  Tensor m = a.contiguous();
  const double* p = m.data_ptr<double>();
  EMBER_CHECK(std::all_of(p, p + m.numel(), [](double x) { return std::isfinite(x); }),
              "{}: the matrix {} holds a NaN or an infinity", function, a.shape());
  return m;
}

// sum of -p log p over values, 0 log 0 = 0.
double entropy_of(const double* p, std::int64_t n) {
  double h = 0;
  for (std::int64_t i = 0; i < n; ++i)
    if (p[i] > 0) h -= p[i] * std::log(p[i]);
  return h;
}

constexpr int kMaxJacobiSweeps = 80;

}  // namespace

double attention_entropy(const Tensor& a) {
  const Tensor m = checked_matrix(a, "attention_entropy");
  const std::int64_t rows = m.size(0), cols = m.size(1);
  EMBER_CHECK(rows > 0, "attention_entropy: the matrix {} has no rows", m.shape());
  const double* p = m.data_ptr<double>();
  double total = 0;
  for (std::int64_t i = 0; i < rows; ++i) total += entropy_of(p + i * cols, cols);
  return total / static_cast<double>(rows);
}

std::vector<double> singular_values(const Tensor& a) {
  const Tensor m = checked_matrix(a, "singular_values");
  const std::int64_t rows = m.size(0), cols = m.size(1);
  // Rotating the rows of A^T is rotating the columns of A, and A^T has the same singular values:
  // work on the orientation with fewer, longer vectors (columns stored contiguously).
  const bool by_rows = rows < cols;
  const std::int64_t count = by_rows ? rows : cols, length = by_rows ? cols : rows;
  const double* p = m.data_ptr<double>();
  std::vector<std::vector<double>> vectors(static_cast<std::size_t>(count), std::vector<double>(length));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      vectors[static_cast<std::size_t>(by_rows ? i : j)][static_cast<std::size_t>(by_rows ? j : i)] = p[i * cols + j];
  auto dot = [length](const std::vector<double>& x, const std::vector<double>& y) {
    double s = 0;
    for (std::int64_t t = 0; t < length; ++t) s += x[t] * y[t];
    return s;
  };
  const double tolerance = static_cast<double>(length) * std::numeric_limits<double>::epsilon();
  for (int sweep = 0; sweep < kMaxJacobiSweeps; ++sweep) {
    bool rotated = false;
    for (std::int64_t i = 0; i + 1 < count; ++i) {
      for (std::int64_t j = i + 1; j < count; ++j) {
        std::vector<double>& x = vectors[static_cast<std::size_t>(i)];
        std::vector<double>& y = vectors[static_cast<std::size_t>(j)];
        const double alpha = dot(x, x), beta = dot(y, y), gamma = dot(x, y);
        if (std::abs(gamma) <= tolerance * std::sqrt(alpha) * std::sqrt(beta)) continue;  // already orthogonal (or zero)
        // The rotation that zeroes gamma: tan(theta) = t, the smaller root of t^2 + 2 zeta t - 1 = 0.
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (std::int64_t k = 0; k < length; ++k) {
          const double xk = x[k], yk = y[k];
          x[k] = c * xk - s * yk;
          y[k] = s * xk + c * yk;
        }
        rotated = true;
      }
    }
    if (!rotated) break;
  }
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(count));
  for (const auto& v : vectors) values.push_back(std::sqrt(dot(v, v)));
  std::sort(values.begin(), values.end(), std::greater<>());
  return values;
}

double effective_rank(const Tensor& a) {
  const std::vector<double> sigma = singular_values(checked_matrix(a, "effective_rank"));
  double total = 0;
  for (double s : sigma) total += s;
  EMBER_CHECK(total > 0, "effective_rank: the matrix {} is zero", a.shape());
  std::vector<double> p;
  p.reserve(sigma.size());
  for (double s : sigma) p.push_back(s / total);
  return std::exp(entropy_of(p.data(), static_cast<std::int64_t>(p.size())));
}

double copy_diagonal_mass(const Tensor& a, const std::vector<std::int64_t>& source_positions) {
  const Tensor m = checked_matrix(a, "copy_diagonal_mass");
  const std::int64_t rows = m.size(0), cols = m.size(1);
  EMBER_CHECK(static_cast<std::int64_t>(source_positions.size()) == rows,
              "copy_diagonal_mass: {} source positions for a matrix of {} rows {}", source_positions.size(), rows,
              m.shape());
  const double* p = m.data_ptr<double>();
  double total = 0;
  std::int64_t copying = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t source = source_positions[static_cast<std::size_t>(i)];
    if (source < 0) continue;
    EMBER_CHECK(source < cols, "copy_diagonal_mass: query {} copies key {}, but the matrix {} has {} keys", i, source,
                m.shape(), cols);
    total += p[i * cols + source];
    ++copying;
  }
  EMBER_CHECK(copying > 0, "copy_diagonal_mass: no query copies (every source position is -1)");
  return total / static_cast<double>(copying);
}

double attention_distance(const Tensor& a, const Tensor& b) {
  const Tensor x = checked_matrix(a, "attention_distance"), y = checked_matrix(b, "attention_distance");
  EMBER_CHECK(x.shape() == y.shape() && x.size(0) > 0,
              "attention_distance: the matrices must have one non-empty shape, got {} and {}", x.shape(), y.shape());
  const double *xp = x.data_ptr<double>(), *yp = y.data_ptr<double>();
  double squares = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) squares += (xp[i] - yp[i]) * (xp[i] - yp[i]);
  return std::sqrt(squares / static_cast<double>(x.size(0)));
}

}  // namespace ember::nn
