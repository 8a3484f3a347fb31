// Gradient checks (float64) for reductions, matmul, views, shape ops, softmax, layer_norm,
// embedding and cross_entropy, with broadcast and non-contiguous inputs where they apply.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {
using Inputs = const std::vector<Tensor>&;
Tensor transposed_input(std::int64_t rows, std::int64_t cols) {
  return randn({cols, rows}, kFloat64).t().requires_grad_();
}
}  // namespace

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: sum") {
  manual_seed(10);
  check_gradients([](Inputs in) { return sum(in[0]); }, {input({2, 3})});
  check_gradients([](Inputs in) { return sum(in[0], {1}); }, {input({2, 3, 4})});
  check_gradients([](Inputs in) { return sum(in[0], {0, 2}, true); }, {input({2, 3, 4})});
  check_gradients([](Inputs in) { return sum(in[0], {0}); }, {transposed_input(3, 4)});
}

TEST_CASE("gradcheck: mean") {
  manual_seed(11);
  check_gradients([](Inputs in) { return mean(in[0], {-1}); }, {input({3, 4})});
  check_gradients([](Inputs in) { return mean(in[0], {0}, true); }, {transposed_input(3, 4)});
}

TEST_CASE("gradcheck: max") {
  manual_seed(12);
  check_gradients([](Inputs in) { return max(in[0], {1}); }, {input({3, 5})});
  check_gradients([](Inputs in) { return max(in[0]); }, {transposed_input(3, 4)});
}

TEST_CASE("gradcheck: var") {
  manual_seed(13);
  check_gradients([](Inputs in) { return var(in[0], {1}); }, {input({3, 5})});
  check_gradients([](Inputs in) { return var(in[0], {0}, 0, true); }, {transposed_input(4, 3)});
}

TEST_CASE("gradcheck: matmul") {
  manual_seed(14);
  auto mm = [](Inputs in) { return matmul(in[0], in[1]); };
  check_gradients(mm, {input({3, 4}), input({4, 2})});
  check_gradients(mm, {transposed_input(3, 4), transposed_input(4, 2)});  // transpose flags
  check_gradients(mm, {input({2, 1, 3, 4}), input({3, 4, 2})});           // batch broadcast
  check_gradients(mm, {input({4}), input({2, 4, 3})});                    // 1-D lhs
  check_gradients(mm, {input({2, 3, 4}), input({4})});                    // 1-D rhs
  check_gradients(mm, {input({2, 3, 4}), input({4, 5}).slice(1, 0, 5, 2)});  // strided columns
}

TEST_CASE("gradcheck: reshape") {
  manual_seed(15);
  check_gradients([](Inputs in) { return in[0].reshape({3, -1}) * 2.0; }, {input({2, 3, 2})});
  check_gradients([](Inputs in) { return in[0].reshape({6}); }, {transposed_input(2, 3)});
  check_gradients([](Inputs in) { return in[0].flatten(1); }, {input({2, 3, 2})});
  check_gradients([](Inputs in) { return in[0].view({2, 6}); }, {input({3, 4})});
}

TEST_CASE("gradcheck: permute") {
  manual_seed(16);
  check_gradients([](Inputs in) { return in[0].permute({2, 0, 1}) * in[1]; }, {input({2, 3, 4}), input({4, 2, 3})});
}

TEST_CASE("gradcheck: transpose") {
  manual_seed(17);
  check_gradients([](Inputs in) { return matmul(in[0].transpose(0, 1), in[0]); }, {input({3, 2})});
}

TEST_CASE("gradcheck: slice") {
  manual_seed(18);
  check_gradients([](Inputs in) { return in[0].slice(1, 1, 4) * 2.0; }, {input({2, 5})});
  check_gradients([](Inputs in) { return in[0].slice(0, -3, 100, 2); }, {transposed_input(5, 2)});
  check_gradients([](Inputs in) { return in[0].narrow(1, 1, 2) + in[0].select(1, 1).unsqueeze(1); },
                  {input({3, 4})});
}

TEST_CASE("gradcheck: expand") {
  manual_seed(19);
  check_gradients([](Inputs in) { return in[0].expand({2, 3, 4}) * in[1]; }, {input({3, 1}), input({2, 3, 4})});
  check_gradients([](Inputs in) { return in[0].unsqueeze(0).squeeze(); }, {input({3, 2})});
}

TEST_CASE("gradcheck: cat") {
  manual_seed(20);
  check_gradients([](Inputs in) { return cat({in[0], in[1]}, 1); }, {input({2, 3}), transposed_input(2, 2)});
  check_gradients([](Inputs in) { return cat({in[0], in[1], in[0]}, 0); }, {input({1, 3}), input({2, 3})});
}

TEST_CASE("gradcheck: stack") {
  manual_seed(21);
  check_gradients([](Inputs in) { return stack({in[0], in[1]}, 1); }, {input({2, 3}), transposed_input(2, 3)});
}

TEST_CASE("gradcheck: split") {
  manual_seed(22);
  check_gradients([](Inputs in) {
    auto parts = split(in[0], 2, 1);
    return parts[0] * 2.0 + parts[1] * parts[1] - sum(parts[2], {1}, true);
  }, {input({3, 5}).slice(1, 0, 6)});
  check_gradients([](Inputs in) {
    auto parts = chunk(in[0], 2, 0);
    return parts[0] * parts[1];
  }, {transposed_input(4, 3)});
}

TEST_CASE("gradcheck: tril") {
  manual_seed(23);
  check_gradients([](Inputs in) { return tril(in[0]) + triu(in[0], 1) * 3.0; }, {input({2, 3, 3})});
  check_gradients([](Inputs in) { return tril(in[0], -1); }, {transposed_input(3, 4)});
}

TEST_CASE("gradcheck: softmax") {
  manual_seed(24);
  Tensor w = randn({3, 5}, kFloat64);
  check_gradients([&](Inputs in) { return softmax(in[0], -1) * w; }, {input({3, 5})});
  check_gradients([&](Inputs in) { return softmax(in[0], 0) * w; }, {transposed_input(3, 5)});
}

TEST_CASE("gradcheck: log_softmax") {
  manual_seed(25);
  Tensor w = randn({3, 5}, kFloat64);
  check_gradients([&](Inputs in) { return log_softmax(in[0], 1) * w; }, {input({3, 5})});
  check_gradients([&](Inputs in) { return log_softmax(in[0], 0) * w; }, {transposed_input(3, 5)});
}

TEST_CASE("gradcheck: layer_norm") {
  manual_seed(26);
  Tensor w = randn({2, 3, 4}, kFloat64);
  auto fn = [&](Inputs in) { return layer_norm(in[0], {4}, in[1], in[2]) * w; };
  check_gradients(fn, {input({2, 3, 4}), input({4}), input({4})});
  check_gradients([&](Inputs in) { return layer_norm(in[0], {3, 4}) * w; }, {input({2, 3, 4})});
  check_gradients([&](Inputs in) { return layer_norm(in[0], {4}, in[1]) * w.select(0, 0); },
                  {transposed_input(3, 4), input({4})});
}

TEST_CASE("gradcheck: embedding") {
  manual_seed(27);
  Tensor idx = from_vector<std::int64_t>({0, 2, 2, 4, 1, 0}, {2, 3});
  check_gradients([&](Inputs in) { return embedding(in[0], idx) * 1.5; }, {input({5, 3})});
}

TEST_CASE("gradcheck: cross_entropy") {
  manual_seed(28);
  Tensor targets = from_vector<std::int64_t>({0, 3, 1, 2, 3, 0}, {2, 3});
  check_gradients([&](Inputs in) { return cross_entropy(in[0], targets); }, {input({2, 3, 4})});
  Tensor with_ignored = from_vector<std::int64_t>({0, -100, 1, 3});
  check_gradients([&](Inputs in) { return cross_entropy(in[0], with_ignored, {.ignore_index = -100, .label_smoothing = 0.1}); },
                  {transposed_input(4, 4)});
}

TEST_CASE("gradcheck: type conversion and copies") {
  manual_seed(29);
  check_gradients([](Inputs in) { return in[0].clone() * in[0]; }, {input({2, 3})});
  check_gradients([](Inputs in) { return in[0].contiguous() * 2.0; }, {transposed_input(2, 3)});
}
}
