// Bad inputs: every op family throws ember::Error naming the op and the offending shapes/dtypes.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("errors: matmul names the op and both shapes") {
  CHECK_ERROR_CONTAINS(matmul(randn({2, 3}), randn({4, 5})), "matmul", "[2, 3]", "[4, 5]", "inner dimensions 3 and 4");
  CHECK_ERROR_CONTAINS(matmul(randn({2, 3}), randn({3}, kFloat64)), "matmul", "float32", "float64");
  CHECK_ERROR_CONTAINS(matmul(zeros({2, 2}, kInt64), zeros({2, 2}, kInt64)), "matmul", "int64");
  CHECK_ERROR_CONTAINS(matmul(randn({2, 2, 3}), randn({3, 3, 1})), "matmul", "[2]", "[3]");
}

TEST_CASE("errors: elementwise shape, dtype and kind mismatches") {
  CHECK_ERROR_CONTAINS(add(zeros({2, 3}), zeros({4})), "add", "[2, 3]", "[4]");
  CHECK_ERROR_CONTAINS(mul(zeros({2}), zeros({2}, kFloat64)), "mul", "float32", "float64");
  CHECK_ERROR_CONTAINS(exp(zeros({2}, kInt64)), "exp", "int64");
  CHECK_ERROR_CONTAINS(masked_fill(zeros({2}), ones({3, 2}), 1.0), "masked_fill", "[3, 2]");
  CHECK_ERROR_CONTAINS(where(ones({2}), zeros({3}), zeros({3})), "where", "[2]", "[3]");
}

TEST_CASE("errors: reductions") {
  CHECK_ERROR_CONTAINS(sum(zeros({2, 3}), {2}), "sum", "dim 2");
  CHECK_ERROR_CONTAINS(mean(zeros({2}, kInt64)), "mean", "int64");
  CHECK_ERROR_CONTAINS(max(zeros({0, 3}), {0}), "max", "[0, 3]");
  CHECK_ERROR_CONTAINS(var(zeros({1, 3}), {0}), "var", "[1, 3]");
  CHECK_ERROR_CONTAINS(sum(zeros({2, 3}), {1, 1}), "sum", "repeated");
}

TEST_CASE("errors: views and shape ops") {
  CHECK_ERROR_CONTAINS(zeros({2, 3}).reshape({4, 2}), "reshape", "[4, 2]", "6");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).reshape({-1, -1}), "reshape", "-1");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).permute({0, 0}), "permute", "repeated");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).transpose(0, 2), "transpose", "dim 2");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).select(1, 3), "select", "index 3", "[2, 3]");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).narrow(1, 2, 2), "narrow", "[2, 3]");
  CHECK_ERROR_CONTAINS(zeros({2, 3}).expand({4, 3}), "expand", "[2, 3]", "[4, 3]");
  CHECK_ERROR_CONTAINS(cat({zeros({2, 3}), zeros({2, 4})}, 0), "cat", "[2, 3]", "[2, 4]");
  CHECK_ERROR_CONTAINS(cat({zeros({2}), zeros({2}, kFloat64)}), "cat", "float64");
  CHECK_ERROR_CONTAINS(stack({zeros({2}), zeros({3})}), "stack", "[3]");
  CHECK_ERROR_CONTAINS(tril(zeros({3})), "tril", "[3]");
  CHECK_ERROR_CONTAINS(split(zeros({3}), 0), "split", "split_size");
  CHECK_ERROR_CONTAINS(empty({2, -1}), "empty", "negative");
}

TEST_CASE("errors: softmax, layer_norm, embedding, cross_entropy, dropout") {
  CHECK_ERROR_CONTAINS(softmax(zeros({2}, kInt64)), "softmax", "int64");
  CHECK_ERROR_CONTAINS(log_softmax(zeros({2, 3}), 2), "log_softmax", "dim 2");
  CHECK_ERROR_CONTAINS(layer_norm(zeros({2, 3}), {4}), "layer_norm", "[4]", "[2, 3]");
  CHECK_ERROR_CONTAINS(layer_norm(zeros({2, 3}), {3}, ones({2})), "layer_norm", "[2]");
  CHECK_ERROR_CONTAINS(embedding(zeros({5, 2}), from_vector<std::int64_t>({0, 5})), "embedding", "out of range", "5");
  CHECK_ERROR_CONTAINS(embedding(zeros({5, 2}), zeros({2})), "embedding", "int64", "float32");
  CHECK_ERROR_CONTAINS(cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 3})), "cross_entropy", "out of range");
  CHECK_ERROR_CONTAINS(cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 1, 2})), "cross_entropy", "[2, 3]", "[3]");
  CHECK_ERROR_CONTAINS(cross_entropy(zeros({2, 3}), zeros({2})), "cross_entropy", "int64");
  CHECK_ERROR_CONTAINS(dropout(zeros({2}), 1.5, true), "dropout", "1.5");
}

TEST_CASE("errors: CUDA tensors without CUDA kernels or devices fail cleanly") {
  // Either Ember was built without CUDA, or there is no device here, or a kernel is missing:
  // each case must be an ember::Error, never a crash.
  bool threw = false;
  try {
    Tensor t = zeros({2}, kCUDA);
    (void)exp(t);
  } catch (const ember::Error& e) {
    threw = true;
    std::string message = e.what();
    CHECK((message.find("CUDA") != std::string::npos || message.find("cuda") != std::string::npos));
  }
  CHECK(threw);
}
