// Random tensors and dropout, drawn from a counter-based Generator (core/random.h): element i of a
// call uses counter offset + i only, so the values do not depend on the thread count or device.
#pragma once

#include "core/random.h"
#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

// Standard normal / uniform in [0, 1) / integers in [low, high) (int64 by default).
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape,
               TensorOptions options = kInt64, Generator* generator = nullptr);

// Zeroes each element with probability p and scales the rest by 1/(1-p) when training; the
// identity otherwise. Backward multiplies by the same mask.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

namespace kernels {
enum class Distribution {
  Normal,     // mean a, std b
  Uniform,    // [a, b)
  Integer,    // integers in [a, b)
  Bernoulli,  // b with probability a, else 0
};
// Counters a fill of n elements reserves: one per element, but one per four for Bernoulli masks.
std::uint64_t random_counters(Distribution dist, std::int64_t n);
// Fills contiguous out; element i comes from philox(seed, offset + i). Bernoulli masks (dropout)
// use all four 32-bit words of a counter: element i is b iff word i % 4 of
// philox(seed, offset + i / 4) is below a * 2^32, else 0.
using random_fn = void (*)(const Tensor& out, Distribution dist, double a, double b,
                           std::uint64_t seed, std::uint64_t offset);
extern DispatchStub<random_fn> random_stub;
}  // namespace kernels

}  // namespace ember
