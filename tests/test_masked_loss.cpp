// nn::masked_cross_entropy: values against the formula written out in loops, and a finite-difference
// gradient check (masked positions must get exactly no gradient, which the differences see as 0).
#include <algorithm>
#include <cmath>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Mean over the kept positions of -sum_c t_c log softmax(x)_c, t = (1 - s) onehot(target) + s / V.
double masked_cross_entropy_loops(const std::vector<double>& logits, const std::vector<std::int64_t>& targets,
                                  const std::vector<double>& mask, std::int64_t V, double smoothing) {
  double total = 0;
  std::int64_t kept = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (mask[r] == 0) continue;
    ++kept;
    const double* x = &logits[r * V];
    double largest = x[0], sum_exp = 0;
    for (std::int64_t c = 1; c < V; ++c) largest = std::max(largest, x[c]);
    for (std::int64_t c = 0; c < V; ++c) sum_exp += std::exp(x[c] - largest);
    const double lse = largest + std::log(sum_exp);
    for (std::int64_t c = 0; c < V; ++c) {
      const double t = (c == targets[r] ? 1 - smoothing : 0.0) + smoothing / static_cast<double>(V);
      total -= t * (x[c] - lse);
    }
  }
  return total / static_cast<double>(kept);
}

}  // namespace

TEST_CASE("masked_cross_entropy: the mean over kept positions, written out in loops") {
  manual_seed(41);
  const std::int64_t B = 2, N = 3, V = 5;
  Tensor logits = randn({B, N, V}, kFloat64);
  const std::vector<std::int64_t> targets{4, 0, 2, 1, 3, 3};
  // A float mask (any dtype is accepted): 0 drops a position whatever its target.
  const std::vector<double> mask{1, 0, 1, 1, 1, 0};
  Tensor t = from_vector<std::int64_t>(targets, {B, N}), m = from_vector<double>(mask, {B, N});
  for (double smoothing : {0.0, 0.2}) {
    CAPTURE(smoothing);
    const double expected = masked_cross_entropy_loops(logits.to_vector<double>(), targets, mask, V, smoothing);
    CHECK(nn::masked_cross_entropy(logits, t, m, smoothing).item<double>() ==
          doctest::Approx(expected).epsilon(1e-12));
    // Masked positions do not count: changing their logits changes nothing.
    Tensor changed = logits.clone();
    changed.select(0, 0).select(0, 1).fill_(100.0);
    CHECK(nn::masked_cross_entropy(changed, t, m, smoothing).item<double>() ==
          doctest::Approx(expected).epsilon(1e-12));
  }
  // An int64 mask drops the same positions.
  Tensor int_mask = from_vector<std::int64_t>({1, 0, 1, 1, 1, 0}, {B, N});
  CHECK(nn::masked_cross_entropy(logits, t, int_mask).item<double>() ==
        doctest::Approx(masked_cross_entropy_loops(logits.to_vector<double>(), targets, mask, V, 0.0)).epsilon(1e-12));
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: masked_cross_entropy") {
  manual_seed(42);
  const std::int64_t B = 2, N = 4, V = 3;
  Tensor targets = from_vector<std::int64_t>({0, 2, 1, 1, 2, 0, 0, 1}, {B, N});
  Tensor mask = from_vector<double>({1, 1, 0, 1, 0, 1, 1, 0}, {B, N});
  for (double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    check_gradients([&](const std::vector<Tensor>& in) {
      return nn::masked_cross_entropy(in[0], targets, mask, smoothing);
    }, {input({B, N, V})});
    // Logits read through a non-contiguous view: (B, V, N) transposed to (B, N, V).
    check_gradients([&](const std::vector<Tensor>& in) {
      return nn::masked_cross_entropy(in[0].transpose(1, 2), targets, mask, smoothing);
    }, {input({B, V, N})});
  }
  // The analytical gradient of a masked position is exactly zero, not merely small.
  Tensor logits = input({B, N, V});
  nn::masked_cross_entropy(logits, targets, mask, 0.1).backward();
  check_values(logits.grad().select(0, 0).select(0, 2), {0, 0, 0}, 0);
  check_values(logits.grad().select(0, 1).select(0, 3), {0, 0, 0}, 0);
  CHECK(max(abs(logits.grad().select(0, 0).select(0, 0))).item<double>() > 1e-3);
}
}
