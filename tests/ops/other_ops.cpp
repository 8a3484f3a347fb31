// Op table rows of random numbers and dropout (ops/random.h), copy_into (ops/copy.h) and the fused
// optimizer steps (ops/optim.h).
#include <cmath>

#include "ops/copy.h"
#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;

namespace {

// A shape-and-dtype carrier for the random ops: they draw a tensor like their input.
std::vector<Sample> carrier() { return {{"(64, 64)", {zeros({64, 64}, kFloat64)}}, {"empty", {zeros({0, 3}, kFloat64)}}}; }

// Same generator seed, same numbers; mean and spread near the distribution's.
void check_draws(const Tensor& out, double mean, double sd, const std::function<Tensor()>& again) {
  if (out.numel() == 0) return;
  const std::vector<double> v = out.to_vector<double>();
  double m = 0, sq = 0;
  for (double x : v) m += x / v.size();
  for (double x : v) sq += (x - m) * (x - m) / v.size();
  const double se = sd / std::sqrt(static_cast<double>(v.size()));
  CHECK(std::abs(m - mean) < 5 * se);
  CHECK(std::abs(std::sqrt(sq) - sd) < 0.05 * sd);
  CHECK(again().to_vector<double>() == v);
}

// torch.optim's Adam (L2 weight decay) for `steps` steps with the same gradient each step.
std::vector<double> ref_adam(std::vector<double> p, const std::vector<double>& g, int steps, double lr, double wd) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> m(p.size(), 0), v(p.size(), 0);
  for (int t = 1; t <= steps; ++t)
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double mhat = m[i] / (1 - std::pow(b1, t)), vhat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
  return p;
}

}  // namespace

EMBER_OP(randn) {
  return {.name = "randn",
          .op = [](Inputs in) { Generator g(5); return randn(in[0].shape(), in[0].dtype(), &g); },
          .samples = carrier,
          .property = [](const Sample& sample, const Tensor& out) {
            CHECK(out.shape() == sample.inputs[0].shape());
            check_draws(out, 0, 1, [&] { Generator g(5); return randn(sample.inputs[0].shape(), kFloat64, &g); });
          },
          .differentiable = false,
          .errors = {{"randn: int64 dtype", [] { randn({2}, kInt64); }, {"randn", "int64"}},
                    {"randn: negative size", [] { randn({-2}); }, {"empty", "negative", "[-2]"}}},
          .on_cuda = false};  // CUDA random numbers: "cuda parity: random numbers are the CPU's"
}
EMBER_OP(rand) {
  return {.name = "rand",
          .op = [](Inputs in) { Generator g(6); return rand(in[0].shape(), in[0].dtype(), &g); },
          .samples = carrier,
          .property = [](const Sample& sample, const Tensor& out) {
            for (double x : out.to_vector<double>()) CHECK((x >= 0 && x < 1));
            check_draws(out, 0.5, std::sqrt(1.0 / 12), [&] { Generator g(6); return rand(sample.inputs[0].shape(), kFloat64, &g); });
          },
          .differentiable = false,
          .errors = {{"rand: int64 dtype", [] { rand({2}, kInt64); }, {"rand", "int64"}}},
          .on_cuda = false};
}
EMBER_OP(randint) {
  return {.name = "randint",
          .op = [](Inputs in) { Generator g(7); return randint(-3, 7, in[0].shape(), kInt64, &g); },
          .samples = carrier,
          .property = [](const Sample& sample, const Tensor& out) {
            CHECK(out.dtype() == kInt64);
            for (double x : out.to_vector<double>()) CHECK((x >= -3 && x < 7 && x == std::floor(x)));
            check_draws(out.to(kFloat64), 1.5, std::sqrt((100.0 - 1) / 12), [&] {
              Generator g(7);
              return randint(-3, 7, sample.inputs[0].shape(), kInt64, &g).to(kFloat64);
            });
          },
          .differentiable = false,
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},  // the input only carries a shape
          .errors = {{"randint: empty range", [] { randint(5, 5, {2}); }, {"randint", "[5, 5)"}}},
          .on_cuda = false};
}
// Dropout with a fixed generator: every element is 0 or x / (1 - p), about p of them 0.
EMBER_OP(dropout) {
  return {.name = "dropout",
          .op = [](Inputs in) { Generator g(11); return dropout(in[0], 0.3, true, &g); },
          .samples = [] { return s::unary(s::positive(1.0, 2.0)); },
          .property = [](const Sample& sample, const Tensor& out) {
            const std::vector<double> x = sample.inputs[0].to_vector<double>(), y = out.to_vector<double>();
            std::size_t dropped = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
              CHECK((y[i] == 0 || std::abs(y[i] - x[i] / 0.7) < 1e-12));
              dropped += y[i] == 0;
            }
            Generator g(11);
            const Tensor big = dropout(ones({10000}, kFloat64), 0.3, true, &g);
            CHECK(std::abs(sum(eq(big, zeros({}, kFloat64))).item<double>() / 10000 - 0.3) < 0.02);
            CHECK(dropout(sample.inputs[0], 0.3, false).to_vector<double>() == x);  // evaluation: identity
          },
          .errors = {{"dropout: probability above 1", [] { dropout(zeros({2}), 1.5, true); }, {"dropout", "1.5"}},
                    {"dropout: negative probability", [] { dropout(zeros({2}), -0.1, true); }, {"dropout", "-0.1"}},
                    {"dropout: int64 tensor", [] { dropout(zeros({2}, kInt64), 0.5, true); }, {"dropout", "int64", "[2]"}},
                    {"dropout: undefined tensor", [] { dropout(Tensor(), 0.5, true); }, {"dropout", "undefined"}}}};
}

EMBER_OP(copy_into) {
  return {.name = "copy_into",
          .op = [](Inputs in) {
            Tensor dst = zeros({3, 4}, TensorOptions(in[0].dtype(), in[0].device())).t();  // a strided destination
            copy_into(dst, in[0], "copy_into");
            return dst;
          },
          .samples = [] {
            return std::vector<Sample>{{"(4, 3)", {s::normal({4, 3})}}, {"broadcast (1, 3)", {s::normal({1, 3})}},
                                       {"transposed", {s::transposed(4, 3)}}};
          },
          .reference = [](Inputs in) { return ref::zip(in[0], zeros({4, 3}, kFloat64), [](double a, double) { return a; }); },
          .differentiable = false,
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"copy_into: undefined source", [] { copy_into(zeros({2}), Tensor(), "copy_into"); }, {"copy_into", "undefined"}},
                    {"copy_into: source that does not broadcast", [] { copy_into(zeros({2}), zeros({3}), "copy_into"); },
                      {"copy_into", "[3]", "[2]"}},
                     {"copy_into: expanded destination",
                      [] { copy_into(zeros({1}).expand({3}), ones({3}), "copy_into"); }, {"copy_into", "[3]", "memory location"}}}};
}

EMBER_OP(fused_sgd_step) {
  return {.name = "fused_sgd_step",
          .op = [](Inputs in) {
            Tensor p = in[0].detach().clone(), buf = zeros_like(p);
            for (int step = 1; step <= 3; ++step)
              fused_sgd_step(p, in[1], buf, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true, .first_step = step == 1});
            return p;
          },
          .samples = [] { return std::vector<Sample>{{"(5, 4)", {s::normal({5, 4}), s::normal({5, 4})}}}; },
          .reference = [](Inputs in) {
            std::vector<double> p = in[0].to_vector<double>(), g = in[1].to_vector<double>(), buf(p.size());
            for (int step = 1; step <= 3; ++step)
              for (std::size_t i = 0; i < p.size(); ++i) {
                const double gi = g[i] + 0.01 * p[i];
                buf[i] = step == 1 ? gi : 0.9 * buf[i] + gi;
                p[i] -= 0.1 * (gi + 0.9 * buf[i]);
              }
            return ref::make(p, in[0].shape());
          },
          .differentiable = false,
          .errors = {{"fused_sgd_step: undefined parameter", [] { fused_sgd_step(Tensor(), zeros({2}), Tensor(), {}); }, {"undefined"}},
                    {"fused_sgd_step: int64 parameter", [] { fused_sgd_step(zeros({2}, kInt64), zeros({2}, kInt64), Tensor(), {}); }, {"int64", "[2]"}},
                    {"fused_sgd_step: strided parameter", [] { fused_sgd_step(zeros({2, 2}).t(), zeros({2, 2}), Tensor(), {}); }, {"strides", "not contiguous"}},
                    {"fused_sgd_step: undefined gradient", [] { fused_sgd_step(zeros({2}), Tensor(), Tensor(), {}); }, {"undefined", "[2]"}},
                    {"fused_sgd_step: float64 gradient", [] { fused_sgd_step(zeros({2}), zeros({2}, kFloat64), Tensor(), {}); }, {"float64", "float32"}},
                    {"fused_sgd_step: strided gradient", [] { fused_sgd_step(zeros({2, 2}), zeros({2, 2}).t(), Tensor(), {}); }, {"not contiguous"}},
                    {"fused_sgd_step: momentum without a buffer", [] { fused_sgd_step(zeros({2}), zeros({2}), Tensor(), {.momentum = 0.9}); }, {"momentum buffer", "0.9"}},
                    {"fused_sgd_step: nesterov without momentum", [] { fused_sgd_step(zeros({2}), zeros({2}), Tensor(), {.nesterov = true}); }, {"nesterov", "momentum 0"}},
                    {"fused_sgd_step: gradient of another shape",
                      [] { fused_sgd_step(zeros({2}), zeros({3}), Tensor(), {}); }, {"SGD", "grad", "[3]", "[2]"}}}};
}
EMBER_OP(fused_adam_step) {
  return {.name = "fused_adam_step",
          .op = [](Inputs in) {
            Tensor p = in[0].detach().clone(), m = zeros_like(p), v = zeros_like(p);
            for (int step = 1; step <= 3; ++step)
              fused_adam_step(p, in[1], m, v, Tensor(), {.lr = 0.01, .weight_decay = 0.1, .step = step});
            return p;
          },
          .samples = [] { return std::vector<Sample>{{"(5, 4)", {s::normal({5, 4}), s::normal({5, 4})}}}; },
          .reference = [](Inputs in) {
            return ref::make(ref_adam(in[0].to_vector<double>(), in[1].to_vector<double>(), 3, 0.01, 0.1), in[0].shape());
          },
          .differentiable = false,
          .errors = {{"fused_adam_step: amsgrad with RAdam", [] { Tensor z = zeros({2}); fused_adam_step(z, z, z.clone(), z.clone(), z.clone(), {.rectified = true, .amsgrad = true}); }, {"amsgrad", "RAdam"}},
                    {"fused_adam_step: amsgrad without its buffer", [] { Tensor z = zeros({2}); fused_adam_step(z, z, z.clone(), z.clone(), Tensor(), {.amsgrad = true}); }, {"max_exp_avg_sq", "amsgrad"}},
                    {"fused_adam_step: step 0", [] { Tensor z = zeros({2}); fused_adam_step(z, z, z.clone(), z.clone(), Tensor(), {.step = 0}); }, {"step", "from 1", "0"}},
                    {"fused_adam_step: state of another shape",
                      [] { fused_adam_step(zeros({2}), zeros({2}), zeros({3}), zeros({2}), Tensor(), {}); },
                      {"Adam", "exp_avg", "[3]", "[2]"}}},
          .tolerance = 1e-10};
}
