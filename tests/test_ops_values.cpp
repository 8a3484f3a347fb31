// Forward values of the ops against hand-computed or closed-form results.
#include <cmath>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("values: elementwise arithmetic and activations") {
  Tensor x = tensor({-1.0, 0.0, 2.0}, kFloat64);
  check_values(x * 2.0 + 1.0, {-1, 1, 5});
  check_values(1.0 - x, {2, 1, -1});
  check_values(6.0 / (x + 3.0), {3, 2, 1.2});
  check_values(exp(x), {std::exp(-1.0), 1, std::exp(2.0)});
  check_values(relu(x), {0, 0, 2});
  check_values(abs(x), {1, 0, 2});
  check_values(tanh(x), {std::tanh(-1.0), 0, std::tanh(2.0)});
  check_values(sigmoid(x), {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-2.0))});
  check_values(elu(x), {std::exp(-1.0) - 1, 0, 2});
  check_values(gelu(x), {-1 * 0.5 * (1 + std::erf(-1 / std::sqrt(2.0))), 0, 2 * 0.5 * (1 + std::erf(2 / std::sqrt(2.0)))});
  Tensor p = tensor({1.0, 4.0, 9.0}, kFloat64);
  check_values(sqrt(p), {1, 2, 3});
  check_values(rsqrt(p), {1, 0.5, 1.0 / 3});
  check_values(log(p), {0, std::log(4.0), std::log(9.0)});
  check_values(pow(p, 1.5), {1, 8, 27});
  check_values(eq(x, tensor({-1.0, 1.0, 2.0}, kFloat64)), {1, 0, 1});
  check_values(gt(x, zeros({}, kFloat64)), {0, 0, 1});
}

TEST_CASE("values: where and masked_fill") {
  Tensor x = arange(0, 4, 1, kFloat32).reshape({2, 2});
  check_values(masked_fill(x, triu(ones({2, 2}), 1), -9.0), {0, -9, 2, 3});
  check_values(where(tensor({1.0, 0.0}), x, full({}, 7.0)), {0, 7, 2, 7});
}

TEST_CASE("values: reductions") {
  Tensor x = from_vector<double>({1, 5, 3, 4, 2, 6}, {2, 3});
  check_values(sum(x), {21});
  check_values(sum(x, {0}), {5, 7, 9});
  check_values(sum(x, {1}, true), {9, 12});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
  check_values(mean(x, {1}), {3, 4});
  check_values(max(x, {1}), {5, 6});
  check_values(max(x.t(), {1}), {4, 5, 6});
  CHECK(argmax(x, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  check_values(var(x, {1}), {4, 4});  // {1,5,3}: mean 3, squares 4+4+0, / (3-1)
  check_values(var(x, {1}, 0), {8.0 / 3, 8.0 / 3});
  Tensor big = ones({3, 1000, 70});
  check_values(sum(big, {1}).slice(1, 0, 2), {1000, 1000, 1000, 1000, 1000, 1000});
  check_values(sum(big, {0, 2}).slice(0, 0, 2), {210, 210});
}

TEST_CASE("values: matmul matches the definition, including transposed views") {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector<double>({7, 8, 9, 10, 11, 12}, {3, 2});
  check_values(matmul(a, b), {58, 64, 139, 154});
  check_values(matmul(b.t(), a.t()), {58, 139, 64, 154});
  check_values(matmul(a, tensor({1.0, 0.0, -1.0}, kFloat64)), {-2, -2});
  Tensor batched = matmul(stack({a, a * 2.0}), b);  // (2, 2, 2)
  CHECK(batched.shape() == Shape{2, 2, 2});
  check_values(batched.select(0, 1), {116, 128, 278, 308});
  // float32 against a float64 reference on a larger product
  manual_seed(1);
  Tensor x = randn({64, 96}), y = randn({96, 80});
  Tensor ref = matmul(x.to(kFloat64), y.to(kFloat64));
  CHECK(max(abs(matmul(x, y).to(kFloat64) - ref)).item<double>() < 1e-3);
}

TEST_CASE("values: cat, stack, split, chunk, tril, triu") {
  Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  check_values(cat({a, a * 10.0f}, 1), {1, 2, 10, 20, 3, 4, 30, 40});
  check_values(cat({a, a}, 0).select(0, 2), {1, 2});
  CHECK(stack({a, a, a}, 0).shape() == Shape{3, 2, 2});
  auto parts = split(arange(0, 5, 1, kFloat32), 2);
  REQUIRE(parts.size() == 3);
  check_values(parts[2], {4});
  CHECK(chunk(zeros({7, 2}), 3).size() == 3);
  Tensor m = ones({3, 3});
  check_values(tril(m), {1, 0, 0, 1, 1, 0, 1, 1, 1});
  check_values(triu(m, 1), {0, 1, 1, 0, 0, 1, 0, 0, 0});
}

TEST_CASE("values: softmax and log_softmax are stable and normalised") {
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64);
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  check_values(softmax(x), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z});
  check_values(log_softmax(x + 1e4), log_softmax(x).to_vector<double>(), 1e-9);
  Tensor big = tensor({1000.0f, 1001.0f});
  check_values(softmax(big), {1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0))});
  Tensor m = randn({4, 5});
  check_values(sum(softmax(m, 0), {0}), {1, 1, 1, 1, 1}, 1e-6);
}

TEST_CASE("values: layer_norm normalises each row") {
  Tensor x = from_vector<double>({1, 2, 3, 4, 10, 20, 30, 40}, {2, 4});
  Tensor y = layer_norm(x, {4}, {}, {}, 0.0);
  double sd = std::sqrt(1.25);  // population std of {1,2,3,4}
  check_values(y.select(0, 0), {-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd});
  check_values(y.select(0, 1), y.select(0, 0).to_vector<double>());
  Tensor w = tensor({2.0, 2.0, 2.0, 2.0}, kFloat64), b = tensor({1.0, 1.0, 1.0, 1.0}, kFloat64);
  check_values(layer_norm(x, {4}, w, b, 0.0).select(0, 0),
               {1 - 3 / sd, 1 - 1 / sd, 1 + 1 / sd, 1 + 3 / sd});
}

TEST_CASE("values: embedding gathers rows") {
  Tensor w = from_vector<float>({0, 1, 10, 11, 20, 21}, {3, 2});
  Tensor out = embedding(w, from_vector<std::int64_t>({2, 0, 2}));
  CHECK(out.shape() == Shape{3, 2});
  check_values(out, {20, 21, 0, 1, 20, 21});
}

TEST_CASE("values: cross_entropy equals -log softmax of the target, averaged") {
  Tensor logits = from_vector<double>({1, 2, 3, 1, 1, 1}, {2, 3});
  Tensor targets = from_vector<std::int64_t>({2, 0});
  double l0 = -std::log(std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  double l1 = std::log(3.0);
  check_values(cross_entropy(logits, targets), {(l0 + l1) / 2});
  check_values(cross_entropy(logits, from_vector<std::int64_t>({2, -100})), {l0});
  // label smoothing s: (1-s) * nll + s * mean over classes of -log p
  double s = 0.1;
  double smooth1 = l1;  // uniform row: every class has -log p = log 3
  Tensor lp = log_softmax(logits.select(0, 0));
  double smooth0 = (1 - s) * l0 - s * mean(lp).item<double>();
  check_values(cross_entropy(logits, targets, {.label_smoothing = s}), {(smooth0 + smooth1) / 2});
}
