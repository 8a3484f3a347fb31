// Random factories and dropout.
#include "ops/random.h"

#include "core/factory.h"
#include "ops/elementwise.h"

namespace ember {

namespace kernels {
constinit DispatchStub<random_fn> random_stub("random");

std::uint64_t random_counters(Distribution dist, std::int64_t n) {
  const auto count = static_cast<std::uint64_t>(n);
  return dist == Distribution::Bernoulli ? (count + 3) / 4 : count;
}
}

namespace {
Tensor random_tensor(const Shape& shape, TensorOptions options, kernels::Distribution dist,
                     double a, double b, Generator* generator) {
  bool wants_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor out = empty(shape, options);
  Generator& gen = generator ? *generator : default_generator();
  std::uint64_t offset = gen.advance(kernels::random_counters(dist, out.numel()));
  kernels::random_stub(out.device())(out, dist, a, b, gen.seed(), offset);
  if (wants_grad) out.requires_grad_();
  return out;
}
}  // namespace

Tensor randn(const Shape& shape, TensorOptions options, Generator* generator) {
  EMBER_CHECK(is_floating(options.dtype), "randn: dtype must be floating, got {}", options.dtype);
  return random_tensor(shape, options, kernels::Distribution::Normal, 0.0, 1.0, generator);
}

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator) {
  EMBER_CHECK(is_floating(options.dtype), "rand: dtype must be floating, got {}", options.dtype);
  return random_tensor(shape, options, kernels::Distribution::Uniform, 0.0, 1.0, generator);
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options,
               Generator* generator) {
  EMBER_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  return random_tensor(shape, options, kernels::Distribution::Integer, static_cast<double>(low),
                       static_cast<double>(high), generator);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  EMBER_CHECK(x.defined(), "dropout: undefined tensor argument");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got {}", p);
  EMBER_CHECK(is_floating(x.dtype()), "dropout: expected a floating tensor, got {} of shape {}",
              x.dtype(), x.shape());
  if (!training || p == 0.0) return x;
  if (p == 1.0) return mul(x, 0.0);
  Tensor mask = random_tensor(x.shape(), TensorOptions(x.dtype(), x.device()),
                              kernels::Distribution::Bernoulli, 1.0 - p, 1.0 / (1.0 - p), generator);
  return mul(x, mask);
}

}  // namespace ember
