// The autograd engine: accumulation, diamonds, no_grad, retain_graph, deep chains, errors, and
// the gradcheck checker itself catching a wrong gradient.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("autograd: gradient of a reused tensor accumulates (diamond graph)") {
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  Tensor a = x * 2.0, b = x * x;  // two paths from x
  Tensor y = sum(a * b);          // y = sum(2 x^3), dy/dx = 6 x^2
  y.backward();
  check_values(x.grad(), {6.0, 24.0, 54.0});
}

TEST_CASE("autograd: backward accumulates into .grad across calls until zeroed") {
  Tensor w = tensor({1.0, -1.0}).requires_grad_();
  sum(w * 3.0).backward();
  sum(w * 3.0).backward();
  check_values(w.grad(), {6.0, 6.0});
  {
    NoGradGuard no_grad;
    w.grad().zero_();
  }
  check_values(w.grad(), {0.0, 0.0});
}

TEST_CASE("autograd: no_grad records nothing and restores the mode") {
  Tensor w = ones({2}).requires_grad_();
  {
    NoGradGuard no_grad;
    Tensor y = w * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(GradMode::is_enabled());
  CHECK((w * 2.0).requires_grad());
}

TEST_CASE("autograd: backward twice needs retain_graph") {
  Tensor x = tensor({0.5, 1.5}, kFloat64).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward({}, /*retain_graph=*/true);
  y.backward();  // allowed: the first one retained the graph
  check_values(x.grad(), {2 * std::exp(0.5), 2 * std::exp(1.5)});
  CHECK_ERROR_CONTAINS(y.backward(), "second time", "retain_graph");
}

TEST_CASE("autograd: a 10,000-op chain neither overflows the stack forward nor backward") {
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001;
  y.sum().backward();
  check_values(x.grad(), {std::pow(1.0001, 10000)}, 1e-9);
  // Dropping y frees the 10,000-node graph iteratively.
  y = Tensor();
  Tensor z = x;
  for (int i = 0; i < 200000; ++i) z = z + 0.0;
  z = Tensor();
  CHECK(x.grad().defined());
}

TEST_CASE("autograd: explicit output gradient and non-scalar outputs") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor y = x * x;
  CHECK_ERROR_CONTAINS(y.backward(), "backward", "single-element");
  y.backward(tensor({1.0, 10.0}, kFloat64));
  check_values(x.grad(), {2.0, 40.0});
}

TEST_CASE("autograd: detach cuts the graph and shares storage") {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());
  Tensor y = sum(x * d);  // d is a constant: dy/dx = d
  y.backward();
  check_values(x.grad(), {1.0, 2.0});
}

TEST_CASE("autograd: in-place update of a tensor that requires grad is refused under grad mode") {
  Tensor w = ones({2}).requires_grad_();
  CHECK_ERROR_CONTAINS(w.mul_(2.0), "mul_", "requires grad", "NoGradGuard");
  NoGradGuard no_grad;
  w.mul_(2.0);
  check_values(w, {2.0, 2.0});
}

TEST_CASE("autograd: backward of a tensor that does not require grad is an error") {
  Tensor x = ones({1});
  CHECK_ERROR_CONTAINS(x.backward(), "backward", "does not require grad");
}

TEST_CASE("autograd: gradients flow through dtype conversion") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  sum(x.to(kFloat32) * 3.0).backward();
  CHECK(x.grad().dtype() == kFloat64);
  check_values(x.grad(), {3.0, 3.0});
}

TEST_CASE("autograd: gradcheck detects a wrong backward") {
  // A custom op whose backward is off by a factor of two.
  auto wrong_square = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    Tensor out = x.detach() * x.detach();
    return autograd::record("wrong_square", out, {x}, [saved = x.detach()](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g * saved};  // should be 2 g x
    });
  };
  auto result = autograd::gradcheck(wrong_square, {tensor({1.0, 2.0}, kFloat64).requires_grad_()});
  CHECK_FALSE(result.ok);
  CHECK(result.report.find("FAILED") != std::string::npos);
  CHECK(result.analytical == doctest::Approx(result.numerical / 2).epsilon(1e-4));
}

// The defects the old gradcheck let through (issue #14): a backward that reads the incoming gradient
// as contiguous, a kernel that reads its input as contiguous, a gradient reaching an input that
// does not require grad. Each op below is right on the contiguous, one-hot path the old check took.
namespace {
// 2x, with a backward that walks g's storage as if g were contiguous.
Tensor doubled_contiguous_grad(const std::vector<Tensor>& in) {
  Tensor x = in[0];
  return autograd::record("doubled", x.detach() * 2.0, {x}, [](const Tensor& g, const std::vector<bool>&) {
    const double* raw = g.data_ptr<double>();
    std::vector<double> values(raw, raw + g.numel());
    for (double& v : values) v *= 2;
    return std::vector<Tensor>{from_vector(values, {g.numel()}, kFloat64).reshape(g.shape())};
  });
}
// 2x, computed from x's storage read as if x were contiguous; backward is the true 2g.
Tensor doubled_contiguous_input(const std::vector<Tensor>& in) {
  Tensor x = in[0];
  const double* raw = x.data_ptr<double>();
  std::vector<double> values(raw, raw + x.numel());
  for (double& v : values) v *= 2;
  Tensor out = from_vector(values, {x.numel()}, kFloat64).reshape(x.shape());
  return autograd::record("doubled", out, {x}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g * 2.0};
  });
}
}  // namespace

TEST_CASE("autograd: gradcheck catches a backward that assumes a contiguous incoming gradient") {
  const Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  auto result = autograd::gradcheck(doubled_contiguous_grad, {x}, {.strided_inputs = false});
  INFO(result.report);
  CHECK_FALSE(result.ok);
  CHECK(result.report.find("random strided incoming gradient") != std::string::npos);
  CHECK(result.worst_output == -1);  // the vector-Jacobian product, not a one-hot row, failed
}

TEST_CASE("autograd: gradcheck catches a kernel that reads a strided input as contiguous") {
  const Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  CHECK(autograd::gradcheck(doubled_contiguous_input, {x}, {.strided_inputs = false}).ok);  // the old check
  auto result = autograd::gradcheck(doubled_contiguous_input, {x});
  INFO(result.report);
  CHECK_FALSE(result.ok);
  CHECK(result.report.find("strided inputs:") != std::string::npos);
}

TEST_CASE("autograd: gradcheck catches a gradient reaching an input that does not require grad") {
  auto leaky = [](const std::vector<Tensor>& in) {
    Tensor b = in[1];
    if (!b.requires_grad()) b.requires_grad_();  // the defect: the op turns on grad for a constant
    return in[0] * b;
  };
  auto result = autograd::gradcheck(leaky, {randn({2, 3}, kFloat64).requires_grad_(), randn({2, 3}, kFloat64)});
  INFO(result.report);
  CHECK_FALSE(result.ok);
  CHECK(result.report.find("input 1 [2, 3] does not require grad but received a gradient") != std::string::npos);
}

TEST_CASE("autograd: gradcheck's float64 tolerances catch an error of 1e-6") {
  // Off by one part in a million: passed the old atol 1e-5 / rtol 1e-3, fails atol 1e-8 / rtol 1e-6.
  auto slightly_wrong = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    return autograd::record("slightly_wrong", x.detach() * 3.0, {x}, [](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g * (3.0 * (1 + 3e-6))};
    });
  };
  const Tensor x = randn({4}, kFloat64).requires_grad_();
  CHECK(autograd::gradcheck(slightly_wrong, {x}, {.atol = 1e-5, .rtol = 1e-3}).ok);
  CHECK_FALSE(autograd::gradcheck(slightly_wrong, {x}).ok);
}

TEST_CASE("autograd: gradcheck refuses float32 inputs") {
  CHECK_ERROR_CONTAINS(autograd::gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; },
                                           {ones({2}).requires_grad_()}),
                       "gradcheck", "float64");
}

TEST_CASE("autograd: a graph that is never backpropagated is freed with its output (no reference cycles)") {
  // Evaluation with grad mode on, or an exception between forward and backward, drops graphs
  // without running them. A closure that held its own op's output would keep output, node and
  // closure alive forever: every recorded op must let go when the last handle goes.
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
      {"softmax", [](const Tensor& x) { return softmax(x, -1); }},
      {"softmax (dim 0)", [](const Tensor& x) { return softmax(x, 0); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, -1); }},
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(abs(x) + 1.0); }},
      {"div", [](const Tensor& x) { return x / (x * x + 1.0); }},
      {"rdiv", [](const Tensor& x) { return 1.0 / (x * x + 1.0); }},
      {"max", [](const Tensor& x) { return max(x, {1}); }},
      {"layer_norm", [](const Tensor& x) { return layer_norm(x, {4}); }},
      {"matmul", [](const Tensor& x) { return matmul(x, x.t()); }},
      {"cross_entropy", [](const Tensor& x) { return cross_entropy(x, from_vector<std::int64_t>({0, 1, 2})); }},
      {"dropout", [](const Tensor& x) { return dropout(x, 0.5, true); }},
      {"cat", [](const Tensor& x) { return cat({x, x}, 1); }},
      {"causal_linear_attention", [](const Tensor& x) {
         Tensor q = elu(x.reshape({1, 1, 3, 4})) + 1.0;
         return causal_linear_attention(q, q, x.reshape({1, 1, 3, 4}));
       }},
  };
  for (const auto& [name, op] : ops) {
    CAPTURE(name);
    std::weak_ptr<TensorImpl> output;
    std::weak_ptr<autograd::Node> node;
    {
      Tensor x = randn({3, 4}).requires_grad_();
      Tensor y = op(x);
      REQUIRE(y.grad_fn() != nullptr);
      output = y.impl_ptr();
      node = y.grad_fn();
    }
    CHECK(output.expired());
    CHECK(node.expired());
  }
}
