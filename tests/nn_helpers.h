// Test helpers for modules: gradient checks with respect to parameters as well as inputs.
#pragma once

#include "helpers.h"

namespace ember::testing {

// Checks d(loss)/d(parameter) for every parameter element of `module` by central differences,
// where loss = sum(forward() * projection) with a fixed random projection. The module must be
// float64 and deterministic (dropout off, or reseeded inside forward).
inline void check_parameter_gradients(nn::Module& module, const std::function<Tensor()>& forward,
                                      double atol = 1e-6, double rtol = 1e-4, double eps = 1e-6) {
  Tensor projection;
  {
    NoGradGuard no_grad;
    Tensor probe = forward();
    Generator gen(1234);
    projection = randn(probe.shape(), kFloat64, &gen);
  }
  auto loss = [&] { return sum(forward() * projection); };
  module.zero_grad();
  loss().backward();
  int checked = 0;
  for (auto& [name, p] : module.named_parameters()) {
    REQUIRE(p.dtype() == kFloat64);
    Tensor grad = p.grad();
    std::vector<double> analytical = grad.defined() ? grad.to_vector<double>() : std::vector<double>(p.numel(), 0.0);
    double* data = p.data_ptr<double>();
    REQUIRE(p.is_contiguous());
    for (std::int64_t e = 0; e < p.numel(); ++e) {
      NoGradGuard no_grad;
      const double saved = data[e];
      data[e] = saved + eps;
      double plus = loss().item<double>();
      data[e] = saved - eps;
      double minus = loss().item<double>();
      data[e] = saved;
      double numerical = (plus - minus) / (2 * eps);
      INFO("parameter " << name << " element " << e << ": numerical " << numerical << ", analytical " << analytical[e]);
      CHECK(std::abs(numerical - analytical[e]) <= atol + rtol * std::abs(numerical));
      ++checked;
    }
  }
  CHECK(checked > 0);
}

}  // namespace ember::testing
