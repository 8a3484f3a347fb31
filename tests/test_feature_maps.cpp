// Linear attention's feature maps: elu(x) + 1 keeps its small values (exp(x) below 0 instead of
// elu(x) + 1, which is 0 in float32 below about x = -17), stays finite where exp(x) would
// overflow, and its gradient matches finite differences in float64 on both sides of 0.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("elu_plus_one: exp(x) below 0 and x + 1 above, in float32") {
  auto phi = nn::feature_maps::elu_plus_one();
  std::vector<double> x = {-100.0, -30.0, -17.5, -1.0, 0.0, 0.5, 100.0};
  std::vector<double> got = phi(tensor({-100.0, -30.0, -17.5, -1.0, 0.0, 0.5, 100.0}, kFloat32)).to_vector<double>();
  REQUIRE(got.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i] << ": phi = " << got[i]);
    double expected = x[i] > 0 ? x[i] + 1 : std::exp(x[i]);
    CHECK(got[i] == doctest::Approx(expected).epsilon(1e-6));
  }
  CHECK(got[1] > 0);  // phi(-30) = 9.4e-14: the old elu(x) + 1 gave exactly 0
  CHECK(got[1] == doctest::Approx(std::exp(-30.0)).epsilon(1e-6));
}

TEST_CASE("elu_plus_one: gradient against finite differences in float64") {
  manual_seed(3);
  auto phi = nn::feature_maps::elu_plus_one();
  check_gradients([&](const std::vector<Tensor>& in) { return phi(in[0]); }, {away_from_zero({3, 5})});
  // Far below 0 the gradient is exp(x), tiny but not 0.
  Tensor x = tensor({-30.0, -20.0, 40.0}, kFloat64).requires_grad_();
  sum(phi(x)).backward();
  check_values(x.grad(), {std::exp(-30.0), std::exp(-20.0), 1.0}, 1e-12);
}
