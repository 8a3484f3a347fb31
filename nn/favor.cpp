// FAVOR+ random features: drawing the orthogonal projection, the stabilized exponentials for
// queries, keys and generation steps, and redraws.
#include "nn/favor.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/random.h"
#include "ops/reduce.h"

namespace ember::nn {

namespace {
std::int64_t default_num_features(std::int64_t D) {
  return std::max<std::int64_t>(D, std::llround(static_cast<double>(D) * std::log(static_cast<double>(D))));
}
}  // namespace

FavorFeatures::FavorFeatures(std::int64_t input_dim, FavorOptions options, Generator& generator)
    : input_dim_(input_dim), options_(options) {
  EMBER_CHECK(input_dim > 0 && options.num_features >= 0 && options.redraw_interval >= 0,
              "FavorFeatures: input_dim {} must be positive, num_features {} and redraw_interval {} not negative",
              input_dim, options.num_features, options.redraw_interval);
  if (options_.num_features == 0) options_.num_features = default_num_features(input_dim);
  projection = register_buffer("projection", draw(generator).to(kFloat32));
}

Tensor FavorFeatures::draw(Generator& generator) const {
  const std::int64_t m = options_.num_features, D = input_dim_;
  const std::int64_t blocks = (m + D - 1) / D;
  const std::vector<double> gaussian = randn({blocks * D, D}, kFloat64, &generator).to_vector<double>();
  std::vector<double> rows(gaussian.begin(), gaussian.begin() + m * D);  // (m, D)
  if (!options_.orthogonal) return from_vector(rows, {m, D});
  const std::vector<double> lengths = randn({m, D}, kFloat64, &generator).to_vector<double>();
  auto dot = [D](const double* a, const double* b) {
    double s = 0;
    for (std::int64_t d = 0; d < D; ++d) s += a[d] * b[d];
    return s;
  };
  for (std::int64_t r = 0; r < m; ++r) {
    double* row = rows.data() + r * D;
    // Modified Gram-Schmidt against the earlier rows of the same block of D.
    for (std::int64_t earlier = r - r % D; earlier < r; ++earlier) {
      const double* e = rows.data() + earlier * D;
      const double along = dot(row, e);
      for (std::int64_t d = 0; d < D; ++d) row[d] -= along * e[d];
    }
    const double norm = std::sqrt(dot(row, row));
    for (std::int64_t d = 0; d < D; ++d) row[d] /= norm;
  }
  // Chi-distributed lengths: the norm of an independent Gaussian vector per row.
  for (std::int64_t r = 0; r < m; ++r) {
    const double* g = lengths.data() + r * D;
    const double length = std::sqrt(dot(g, g));
    for (std::int64_t d = 0; d < D; ++d) rows[r * D + d] *= length;
  }
  return from_vector(rows, {m, D});
}

void FavorFeatures::new_feature_map(Generator& generator) {
  NoGradGuard no_grad;
  projection.copy_(draw(generator));  // in place: dtype and device kept, handles stay valid
}

Tensor FavorFeatures::exponent(const Tensor& x, const char* op) const {
  EMBER_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == input_dim_ && x.dtype() == projection.dtype() &&
                  x.device() == projection.device(),
              "{}: expected input (..., {}) of {} on {}, got {} of {} on {}", op, input_dim_, projection.dtype(),
              projection.device(), x.defined() ? x.shape() : Shape{}, x.defined() ? x.dtype() : projection.dtype(),
              x.defined() ? x.device() : projection.device());
  const Tensor scaled = x * std::pow(static_cast<double>(input_dim_), -0.25);  // x' = x / D^(1/4)
  const Tensor projected = matmul(scaled, projection.transpose(0, 1));      // (..., m)
  return projected - sum(scaled * scaled, {-1}, true) * 0.5;                // - |x'|^2 / 2
}

Tensor FavorFeatures::features(const Tensor& e, const Tensor& stabilizer) const {
  return exp(e - stabilizer) * (1.0 / std::sqrt(static_cast<double>(num_features())));
}

Tensor FavorFeatures::forward(const Tensor& x) {
  const Tensor e = exponent(x, "FavorFeatures");
  return features(e, max(e, {-1}, true));
}

void FavorFeatures::count_training_pass() {
  if (!is_training() || options_.redraw_interval <= 0) return;
  if (training_passes_ > 0 && training_passes_ % options_.redraw_interval == 0) new_feature_map(default_generator());
  ++training_passes_;
}

Tensor FavorFeatures::forward_keys(const Tensor& x) {
  EMBER_CHECK(x.defined() && x.dim() >= 2, "FavorFeatures::forward_keys: expected keys (..., N, {}), got {}",
              input_dim_, x.defined() ? x.shape() : Shape{});
  count_training_pass();
  const Tensor e = exponent(x, "FavorFeatures::forward_keys");  // (..., N, m)
  return features(e, max(e, {-2, -1}, true));
}

Tensor FavorFeatures::forward_key_step(const Tensor& x, Tensor& offset, std::initializer_list<Tensor> sums) {
  const Tensor e = exponent(x, "FavorFeatures::forward_key_step");  // (B, H, m)
  const Tensor step_max = max(e, {-1}, true);                       // (B, H, 1)
  if (!offset.defined()) {
    offset = step_max;
  } else {
    const Tensor grown = where(gt(step_max, offset), step_max, offset);
    const Tensor factor = exp(offset - grown).unsqueeze(-1);  // (B, H, 1, 1): earlier keys' new scale
    for (Tensor sum_of_keys : sums) sum_of_keys.copy_(sum_of_keys * factor);
    offset = grown;
  }
  return features(e, offset);
}

Tensor FavorFeatures::forward_valid_keys(const Tensor& x, const Tensor& valid, Tensor& offset) {
  // log(0) = -inf keeps padded keys out of the shared maximum, and exp(-inf) = 0 zeroes their
  // features (multiplying by 0 instead would turn an overflowed exp into NaN).
  count_training_pass();
  const Tensor e = exponent(x, "FavorFeatures::forward_valid_keys") + log(valid);  // (B, H, P, m)
  const Tensor shared = max(e, {-2, -1}, true);                                       // (B, H, 1, 1)
  offset = shared.squeeze(-1);                                                         // (B, H, 1)
  return features(e, shared);
}

namespace feature_maps {
FeatureMapSpec favor(FavorOptions options) {
  return FeatureMapSpec([options](std::int64_t head_dim) { return std::make_shared<FavorFeatures>(head_dim, options); });
}
}  // namespace feature_maps

}  // namespace ember::nn
