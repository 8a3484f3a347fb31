// Gradient checks (float64, finite differences) for the elementwise family, each with a
// broadcast case and a non-contiguous input where the op takes one.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {
using Inputs = const std::vector<Tensor>&;

// Checks a binary op on same-shape, broadcast, and transposed operands.
template <typename Op>
void check_binary(Op op, bool positive_rhs = false) {
  manual_seed(1);
  auto rhs = [&](const Shape& s) { return positive_rhs ? positive_input(s) : input(s); };
  auto fn = [&](Inputs in) { return op(in[0], in[1]); };
  check_gradients(fn, {input({2, 3}), rhs({2, 3})});
  check_gradients(fn, {input({2, 1, 3}), rhs({4, 1})});          // broadcast both ways
  Tensor transposed = randn({3, 2}, kFloat64).t().requires_grad_();
  check_gradients(fn, {transposed, rhs({1, 3})});                 // non-contiguous lhs
}

// Checks a unary op on a plain and a sliced (non-contiguous) input made by `make`.
template <typename Op, typename Make>
void check_unary(Op op, Make make) {
  manual_seed(2);
  auto fn = [&](Inputs in) { return op(in[0]); };
  check_gradients(fn, {make(Shape{2, 3})});
  Tensor base = make(Shape{4, 5}).detach();
  check_gradients(fn, {base.slice(1, 0, 5, 2).requires_grad_()});
}
}  // namespace

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: add") { check_binary([](const Tensor& a, const Tensor& b) { return a + b; }); }
TEST_CASE("gradcheck: sub") { check_binary([](const Tensor& a, const Tensor& b) { return a - b; }); }
TEST_CASE("gradcheck: mul") { check_binary([](const Tensor& a, const Tensor& b) { return a * b; }); }
TEST_CASE("gradcheck: div") { check_binary([](const Tensor& a, const Tensor& b) { return a / b; }, true); }

TEST_CASE("gradcheck: scalar arithmetic") {
  check_unary([](const Tensor& x) { return (x + 1.5) * 3.0 - 2.0; }, input);
  check_unary([](const Tensor& x) { return 2.0 - x / 4.0; }, input);
  check_unary([](const Tensor& x) { return 3.0 / x; }, [](const Shape& s) { return positive_input(s); });
}

TEST_CASE("gradcheck: neg") { check_unary([](const Tensor& x) { return -x; }, input); }
TEST_CASE("gradcheck: exp") { check_unary([](const Tensor& x) { return exp(x); }, input); }
TEST_CASE("gradcheck: log") {
  check_unary([](const Tensor& x) { return log(x); }, [](const Shape& s) { return positive_input(s); });
}
TEST_CASE("gradcheck: sqrt") {
  check_unary([](const Tensor& x) { return sqrt(x); }, [](const Shape& s) { return positive_input(s); });
}
TEST_CASE("gradcheck: rsqrt") {
  check_unary([](const Tensor& x) { return rsqrt(x); }, [](const Shape& s) { return positive_input(s); });
}
TEST_CASE("gradcheck: pow") {
  check_unary([](const Tensor& x) { return pow(x, 2.5); }, [](const Shape& s) { return positive_input(s); });
  check_unary([](const Tensor& x) { return pow(x, 3.0); }, input);
}
TEST_CASE("gradcheck: abs") { check_unary([](const Tensor& x) { return abs(x); }, away_from_zero); }
TEST_CASE("gradcheck: tanh") { check_unary([](const Tensor& x) { return tanh(x); }, input); }
TEST_CASE("gradcheck: sigmoid") { check_unary([](const Tensor& x) { return sigmoid(x); }, input); }
TEST_CASE("gradcheck: relu") { check_unary([](const Tensor& x) { return relu(x); }, away_from_zero); }
TEST_CASE("gradcheck: gelu") { check_unary([](const Tensor& x) { return gelu(x); }, input); }
TEST_CASE("gradcheck: elu") {
  check_unary([](const Tensor& x) { return elu(x); }, away_from_zero);
  check_unary([](const Tensor& x) { return elu(x, 0.7); }, away_from_zero);
}

TEST_CASE("gradcheck: where") {
  manual_seed(3);
  Tensor cond = gt(randn({3, 1}, kFloat64), zeros({}, kFloat64));
  auto fn = [&](Inputs in) { return where(cond, in[0], in[1]); };
  check_gradients(fn, {input({3, 4}), input({4})});
  check_gradients(fn, {randn({4, 3}, kFloat64).t().requires_grad_(), input({3, 4})});
}

TEST_CASE("gradcheck: masked_fill") {
  manual_seed(4);
  Tensor mask = tril(ones({4, 4}, kFloat64));
  auto fn = [&](Inputs in) { return masked_fill(in[0], mask, -3.0); };
  check_gradients(fn, {input({2, 4, 4})});
  check_gradients(fn, {randn({4, 4}, kFloat64).t().requires_grad_()});
}

TEST_CASE("gradcheck: dropout") {
  manual_seed(5);
  auto fn = [](Inputs in) {
    Generator gen(11);  // same mask on every evaluation
    return dropout(in[0], 0.3, true, &gen);
  };
  check_gradients(fn, {input({4, 5})});
  check_gradients(fn, {randn({5, 4}, kFloat64).t().requires_grad_()});
}
}
