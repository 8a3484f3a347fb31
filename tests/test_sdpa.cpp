// Fused softmax attention: forward against the unfused formula (matmul, mask, softmax, matmul)
// across block boundaries, causal, key padding and strided heads; gradient checks, with dropout.
#include <cmath>
#include <limits>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

Tensor reference(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const std::vector<std::int64_t>& lengths = {}) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  Tensor s = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(q.size(-1))));
  const std::int64_t Nq = q.size(2), Nk = k.size(2);
  if (causal) s = masked_fill(s, triu(ones({Nq, Nk}, q.dtype()), 1), neg_inf);
  if (!lengths.empty()) {
    Tensor pad = ge(arange(Nk).reshape({1, 1, 1, Nk}), from_vector(lengths).reshape({-1, 1, 1, 1}));
    s = masked_fill(s, pad, neg_inf);
  }
  return matmul(softmax(s, -1), v);
}

}  // namespace

TEST_CASE("sdpa: forward equals the unfused formula") {
  manual_seed(41);
  for (std::int64_t N : {1, 5, 64, 70, 130}) {
    for (bool causal : {false, true}) {
      Tensor q = randn({2, 3, N, 8}, kFloat64), k = randn({2, 3, N, 8}, kFloat64), v = randn({2, 3, N, 5}, kFloat64);
      Tensor out = scaled_dot_product_attention(q, k, v, {.causal = causal});
      INFO("N = " << N << " causal = " << causal);
      CHECK(max(abs(out - reference(q, k, v, causal))).item<double>() < 1e-12);
    }
  }
  // Cross attention with different lengths and key padding.
  Tensor q = randn({2, 2, 7, 4}, kFloat64), k = randn({2, 2, 90, 4}, kFloat64), v = randn({2, 2, 90, 3}, kFloat64);
  Tensor lengths = from_vector<std::int64_t>({90, 66});
  Tensor out = scaled_dot_product_attention(q, k, v, {.key_lengths = lengths});
  CHECK(max(abs(out - reference(q, k, v, false, {90, 66}))).item<double>() < 1e-12);
  // A sequence with no keys gets zeros, not NaN.
  Tensor none = scaled_dot_product_attention(q, k, v, {.key_lengths = from_vector<std::int64_t>({0, 3})});
  CHECK(max(abs(none.select(0, 0))).item<double>() == 0.0);
}

TEST_CASE("sdpa: float32 heads split from a projection are read in place") {
  manual_seed(42);
  const std::int64_t B = 2, N = 100, H = 4, D = 16;
  Tensor proj = randn({B, N, 3 * H * D});
  auto heads = [&](int i) { return proj.narrow(2, i * H * D, H * D).reshape({B, N, H, D}).transpose(1, 2); };
  Tensor out = scaled_dot_product_attention(heads(0), heads(1), heads(2), {.causal = true});
  Tensor ref = reference(heads(0).to(kFloat64), heads(1).to(kFloat64), heads(2).to(kFloat64), true);
  CHECK(max(abs(out.to(kFloat64) - ref)).item<double>() < 1e-5);
  CHECK(out.transpose(1, 2).is_contiguous());  // heads merge for free
}

TEST_CASE("sdpa: dropout drops about p of the weights and is reproducible") {
  manual_seed(43);
  Tensor q = zeros({1, 1, 200, 4}), k = zeros({1, 1, 200, 4}), v = ones({1, 1, 200, 1});
  // Uniform weights 1/200: with dropout each output is (kept count) / (200 (1 - p)).
  Generator g1(5), g2(5);
  Tensor a = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.25, .generator = &g1});
  Tensor b = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.25, .generator = &g2});
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(mean(a).item<double>() == doctest::Approx(1.0).epsilon(0.02));
  CHECK(max(abs(a - 1.0)).item<double>() > 0.01);  // rows differ: the mask is not all-ones
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: scaled_dot_product_attention over several key blocks, with dropout and key lengths") {
  manual_seed(44);
  for (std::int64_t N : {3, 70}) {
    for (bool causal : {false, true}) {
      INFO("N = " << N << " causal = " << causal);
      check_gradients([causal](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], {.causal = causal});
      }, {input({1, 1, N, 2}), input({1, 1, N, 2}), input({1, 1, N, 2})});
    }
  }
  Tensor lengths = from_vector<std::int64_t>({4, 2});
  check_gradients([&](const std::vector<Tensor>& in) {
    Generator gen(9);  // same dropout mask at every evaluation
    return scaled_dot_product_attention(in[0], in[1], in[2], {.dropout_p = 0.3, .key_lengths = lengths, .generator = &gen});
  }, {input({2, 2, 3, 2}), input({2, 2, 4, 2}), input({2, 2, 4, 3})});
}
}

TEST_CASE("sdpa: bad inputs") {
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 2, 3, 4}), zeros({1, 2, 3, 5}), zeros({1, 2, 3, 4})),
                       "scaled_dot_product_attention", "[1, 2, 3, 5]");
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 1, 3, 4}), zeros({1, 1, 5, 4}), zeros({1, 1, 5, 4}), {.causal = true}),
                       "scaled_dot_product_attention", "causal");
  CHECK_ERROR_CONTAINS(scaled_dot_product_attention(zeros({1, 1, 3, 4}), zeros({1, 1, 3, 4}), zeros({1, 1, 3, 4}), {.dropout_p = 1.0}),
                       "scaled_dot_product_attention", "dropout");
}
