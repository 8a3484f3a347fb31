// CPU random fill: one Philox counter per element, so any split across threads gives the same
// values.
#include <cmath>
#include <numbers>

#include "ops/cpu/loops.h"
#include "ops/random.h"

namespace ember::cpu {
namespace {

using kernels::Distribution;

template <typename T>
void fill_random(T* out, std::int64_t n, Distribution dist, double a, double b, std::uint64_t seed,
                 std::uint64_t offset) {
#pragma omp parallel for schedule(static) if (n >= kParallelGrain / 4)
  for (std::int64_t i = 0; i < n; ++i) {
    auto w = philox(seed, offset + static_cast<std::uint64_t>(i));
    double u = philox_uniform(w[0], w[1]);  // (0, 1]
    double value = 0.0;
    switch (dist) {
      case Distribution::Normal: {
        double u2 = philox_uniform(w[2], w[3]);
        value = a + b * std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * u2);
        break;
      }
      case Distribution::Uniform: value = a + (b - a) * (1.0 - u); break;
      case Distribution::Integer: value = std::floor(a + (b - a) * (1.0 - u)); break;
      case Distribution::Bernoulli: value = (1.0 - u) < a ? b : 0.0; break;
    }
    out[i] = static_cast<T>(value);
  }
}

void random_cpu(const Tensor& out, Distribution dist, double a, double b, std::uint64_t seed,
                std::uint64_t offset) {
  dispatch_all(out.dtype(), [&]<typename T>() {
    fill_random(out.data_ptr<T>(), out.numel(), dist, a, b, seed, offset);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::random_stub, DeviceType::CPU, random_cpu);

}  // namespace ember::cpu
