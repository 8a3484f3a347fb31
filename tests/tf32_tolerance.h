// The error to expect from a float32 matmul on TF32 tensor cores, derived rather than guessed.
//
// TF32 keeps 10 of float32's 23 mantissa bits. Each operand is rounded to it with a relative error
// of at most u: 2^-11 when rounding to nearest, 2^-10 when truncating (GPUs differ; both are
// covered by taking u = 2^-10). A product of two rounded operands is then off by at most
// (1 + u)^2 - 1 = 2u + u^2 of its exact value, and the float32 accumulation of K products adds at
// most K 2^-24 of the sum of their magnitudes (the classic bound for recursive summation), so
//   |C'_ij - C_ij| <= (2u + u^2 + K 2^-24) sum_k |A_ik| |B_kj|.
// The parity tests measure the largest |error| over the largest |C_ij|, so the tolerance is that
// bound's largest entry over the largest |C_ij|. With positive operands sum_k |A_ik||B_kj| = C_ij
// and the tolerance is about 2u (2e-3); with random signs (gradients against a random upstream
// gradient) cancellation makes it larger by the ratio of the two sums.
#pragma once

#include <algorithm>
#include <cmath>

#include <ember/ember.h>

namespace ember::testing {

inline constexpr double kTf32Unit = 1.0 / 1024.0;  // 2^-10: truncation, the worse of the two roundings

// a: (M, K), b: (K, N), float64 holding float32 values.
inline double tf32_matmul_tolerance(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  const double k = static_cast<double>(a.size(-1));
  const double per_entry = 2 * kTf32Unit + kTf32Unit * kTf32Unit + k * std::ldexp(1.0, -24);
  const double magnitude = max(matmul(abs(a), abs(b))).item<double>();
  const double largest = max(abs(matmul(a, b))).item<double>();
  return per_entry * magnitude / std::max(largest, 1e-300);
}

// x rounded to TF32 as a GPU would: keep 10 mantissa bits, by truncation or to nearest (ties away
// from zero, which only makes the error larger or equal). x holds float32 values.
inline Tensor round_to_tf32(const Tensor& x, bool truncate) {
  std::vector<double> values = x.to_vector<double>();
  for (double& v : values) {
    if (v == 0 || !std::isfinite(v)) continue;
    int exponent = 0;
    const double mantissa = std::frexp(v, &exponent);  // |mantissa| in [0.5, 1): 11 significant bits
    const double scaled = std::ldexp(mantissa, 11);
    v = std::ldexp(truncate ? std::trunc(scaled) : std::round(scaled), exponent - 11);
  }
  return from_vector(values, x.shape()).to(x.dtype());
}

}  // namespace ember::testing

namespace ember::testing {

// The inputs of the TF32 parity test (tests/test_cuda_parity.cpp), made the same way on any
// machine: a (64, 128) and b (128, 48) uniform in [0, 1), the upstream gradient w standard normal,
// all float32 values held in float64.
struct Tf32Case {
  Tensor a, b, w;
};

inline Tf32Case tf32_case() {
  manual_seed(2025);
  auto float32_values = [](const Tensor& t) { return t.to(kFloat32).to(kFloat64); };
  Tf32Case c;
  c.a = float32_values(rand({64, 128}, kFloat64));
  c.b = float32_values(rand({128, 48}, kFloat64));
  c.w = float32_values(randn({64, 48}, kFloat64));
  return c;
}

}  // namespace ember::testing
