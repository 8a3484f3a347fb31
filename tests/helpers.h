// Shared helpers for Ember's tests: float64 inputs for gradient checks and value comparisons.
#pragma once

#include <doctest/doctest.h>

#include <ember/ember.h>

namespace ember::testing {

// Whether this binary is built with ThreadSanitizer (scripts/test-tsan.sh): there, OpenMP keeps one
// thread per calling thread, since TSan cannot see libgomp's own synchronisation.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Ends the current test case as skipped, saying why. ctest reports it as skipped, not passed: every
// test carries SKIP_REGULAR_EXPRESSION "EMBER-SKIPPED" (tests/CMakeLists.txt).
#define EMBER_SKIP(reason)                              \
  do {                                                  \
    MESSAGE("EMBER-SKIPPED: " << (reason));              \
    return;                                             \
  } while (0)

// Skips the current test case unless a CUDA device is usable; a CUDA installation that is there but
// broken (a driver too old) throws instead, failing the case (cuda::interpret_device_count).
#define EMBER_REQUIRE_CUDA() \
  if (!cuda_is_available()) EMBER_SKIP(cuda_unavailable_reason())

// Standard normal float64 leaf that requires grad.
inline Tensor input(const Shape& shape) { return randn(shape, kFloat64).requires_grad_(); }

// Float64 leaf in [low, high), requires grad (for log, sqrt, pow ...).
inline Tensor positive_input(const Shape& shape, double low = 0.5, double high = 2.0) {
  return (rand(shape, kFloat64) * (high - low) + low).detach().requires_grad_();
}

// Float64 leaf with |x| in [0.2, 1.2): keeps finite differences off kinks at 0 (relu, abs).
inline Tensor away_from_zero(const Shape& shape) {
  Tensor magnitude = rand(shape, kFloat64) + 0.2;
  Tensor sign = where(gt(rand(shape, kFloat64), full({}, 0.5, kFloat64)), ones({}, kFloat64),
                      full({}, -1.0, kFloat64));
  return (magnitude * sign).detach().requires_grad_();
}

// Runs the public gradcheck and fails the test case with its report.
inline void check_gradients(const autograd::GradcheckFn& fn, const std::vector<Tensor>& inputs,
                            autograd::GradcheckOptions options = {}) {
  auto result = autograd::gradcheck(fn, inputs, options);
  INFO(result.report);
  CHECK(result.ok);
  CHECK(result.checked > 0);
}

// Element-by-element comparison with a readable failure.
inline void check_values(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-6) {
  std::vector<double> got = actual.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    CHECK(std::abs(got[i] - expected[i]) <= tol * (1 + std::abs(expected[i])));
  }
}

// Asserts that `expr` throws ember::Error whose message contains every fragment.
#define CHECK_ERROR_CONTAINS(expr, ...)                                               \
  do {                                                                                \
    bool ember_thrown = false;                                                        \
    try {                                                                             \
      (void)(expr);                                                                   \
    } catch (const ::ember::Error& e) {                                               \
      ember_thrown = true;                                                            \
      std::string ember_message = e.what();                                           \
      for (const char* fragment : {__VA_ARGS__}) {                                    \
        INFO("message: " << ember_message << "; missing: " << std::string(fragment)); \
        CHECK(ember_message.find(fragment) != std::string::npos);                     \
      }                                                                               \
    }                                                                                 \
    CHECK_MESSAGE(ember_thrown, "expected ember::Error from " #expr);                 \
  } while (0)

}  // namespace ember::testing
