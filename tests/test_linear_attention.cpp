// Causal linear attention op: forward against the quadratic masked formula, gradient checks
// against finite differences at several N (multiples of the chunk size and not), strided inputs.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// The O(N^2) definition: out = tril(q k^T) v / (rowsum(tril(q k^T)) + eps).
Tensor quadratic_reference(const Tensor& q, const Tensor& k, const Tensor& v, double eps) {
  Tensor scores = tril(matmul(q, k.transpose(-1, -2)));
  return matmul(scores, v) / (sum(scores, {-1}, true) + eps);
}

Tensor features(const Shape& shape) { return (elu(randn(shape, kFloat64)) + 1.0).detach(); }

}  // namespace

TEST_CASE("causal_linear_attention: forward equals the quadratic masked formula") {
  manual_seed(7);
  for (std::int64_t N : {1, 7, 64, 130}) {
    for (std::int64_t chunk : {64, 16, 5}) {
      Tensor q = features({2, 3, N, 4}), k = features({2, 3, N, 4}), v = randn({2, 3, N, 5}, kFloat64);
      Tensor out = causal_linear_attention(q, k, v, 1e-6, chunk);
      Tensor ref = quadratic_reference(q, k, v, 1e-6);
      INFO("N = " << N << ", chunk = " << chunk);
      CHECK(out.shape() == Shape{2, 3, N, 5});
      CHECK(max(abs(out - ref)).item<double>() < 1e-12);
    }
  }
}

TEST_CASE("causal_linear_attention: chunk_size 0 takes the CPU's chunk of 32") {
  manual_seed(9);
  Tensor q = features({1, 2, 100, 4}), k = features({1, 2, 100, 4}), v = randn({1, 2, 100, 3}, kFloat64);
  const std::vector<double> by_default = causal_linear_attention(q, k, v).to_vector<double>();
  // Summation order differs between chunk sizes, so equal bits identify the chunk.
  CHECK(by_default == causal_linear_attention(q, k, v, 1e-6, 32).to_vector<double>());
  CHECK(by_default != causal_linear_attention(q, k, v, 1e-6, 64).to_vector<double>());
}

TEST_CASE("causal_linear_attention: float32 and strided (heads split from a projection) inputs") {
  manual_seed(8);
  const std::int64_t B = 2, N = 33, H = 4, D = 8;
  // (B, N, H*D) projections viewed as (B, H, N, D): last dim unit-stride, no copy needed.
  Tensor proj = randn({B, N, 3 * H * D});
  auto split_heads = [&](int which) {
    return proj.narrow(2, which * H * D, H * D).reshape({B, N, H, D}).transpose(1, 2);
  };
  Tensor q = elu(split_heads(0)) + 1.0, k = elu(split_heads(1)) + 1.0, v = split_heads(2);
  Tensor out = causal_linear_attention(q, k, v);
  Tensor ref = quadratic_reference(q.to(kFloat64), k.to(kFloat64), v.to(kFloat64), 1e-6);
  CHECK(max(abs(out.to(kFloat64) - ref)).item<double>() < 1e-4);
  // The strided v is read in place, not copied.
  CHECK(v.stride(-1) == 1);
  CHECK_FALSE(v.is_contiguous());
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: causal_linear_attention over 1 to 130 positions (several chunks, a partial last one)") {
  manual_seed(9);
  for (std::int64_t N : {1, 7, 64, 130}) {
    INFO("N = " << N);
    Tensor q = features({1, 2, N, 2}).requires_grad_(), k = features({1, 2, N, 2}).requires_grad_();
    Tensor v = randn({1, 2, N, 3}, kFloat64).requires_grad_();
    std::int64_t chunk = N == 64 ? 16 : 64;  // several chunks, and a final partial chunk at 130
    check_gradients([chunk](const std::vector<Tensor>& in) { return causal_linear_attention(in[0], in[1], in[2], 1e-6, chunk); },
                    {q, k, v}, {.eps = 1e-6, .atol = 1e-6, .rtol = 1e-4});
  }
}
}

// Not a finite-difference check (so outside the gradcheck suite): the fused kernel's backward against
// autograd through the quadratic formula's ops.
TEST_CASE("causal_linear_attention: gradients equal those of the quadratic formula") {
  manual_seed(10);
  const std::int64_t N = 23;
  Tensor q = features({2, 1, N, 3}).requires_grad_(), k = features({2, 1, N, 3}).requires_grad_();
  Tensor v = randn({2, 1, N, 2}, kFloat64).requires_grad_();
  Tensor w = randn({2, 1, N, 2}, kFloat64);
  sum(causal_linear_attention(q, k, v, 1e-6, 4) * w).backward();
  std::vector<Tensor> fast{q.grad(), k.grad(), v.grad()};
  for (auto* t : {&q, &k, &v}) t->set_grad(Tensor());
  sum(quadratic_reference(q, k, v, 1e-6) * w).backward();
  std::vector<Tensor> slow{q.grad(), k.grad(), v.grad()};
  for (int i = 0; i < 3; ++i) CHECK(max(abs(fast[i] - slow[i])).item<double>() < 1e-11);
}

TEST_CASE("causal_linear_attention: bad inputs") {
  CHECK_ERROR_CONTAINS(causal_linear_attention(zeros({1, 2, 3, 4}), zeros({1, 2, 3, 5}), zeros({1, 2, 3, 4})),
                       "causal_linear_attention", "[1, 2, 3, 4]", "[1, 2, 3, 5]");
  CHECK_ERROR_CONTAINS(causal_linear_attention(zeros({2, 3, 4}), zeros({2, 3, 4}), zeros({2, 3, 4})),
                       "causal_linear_attention", "[2, 3, 4]");
  CHECK_ERROR_CONTAINS(causal_linear_attention(zeros({1, 1, 3, 2}), zeros({1, 1, 3, 2}), zeros({1, 1, 3, 2}, kFloat64)),
                       "causal_linear_attention", "float64");
}

TEST_CASE("linear_attention: padded keys have no effect, causal and not (key_lengths)") {
  manual_seed(47);
  const std::int64_t N = 9;
  const std::vector<std::int64_t> lengths = {6, 9, 0};
  // Padding of any value, even huge: its phi_k rows are zeroed.
  Tensor q = features({3, 2, N, 4}), k = features({3, 2, N, 4}) * 1e6, v = randn({3, 2, N, 5}, kFloat64) * 1e6;
  const Tensor key_lengths = from_vector<std::int64_t>(lengths);
  for (bool causal : {false, true}) {
    INFO("causal=" << causal);
    const Tensor masked = linear_attention(q, k, v, {.causal = causal, .key_lengths = key_lengths});
    for (std::int64_t b = 0; b < 3; ++b) {
      const std::int64_t n = lengths[b];
      const Tensor qb = q.narrow(0, b, 1), kb = k.narrow(0, b, 1).narrow(2, 0, n), vb = v.narrow(0, b, 1).narrow(2, 0, n);
      if (!causal) {
        // Unpadded: only the first n keys and values exist.
        const Tensor unpadded = n > 0 ? linear_attention(qb, kb, vb) : zeros({1, 2, N, 5}, kFloat64);
        CHECK(max(abs(masked.narrow(0, b, 1) - unpadded)).item<double>() < 1e-12);
      } else if (n > 0) {
        // The first n positions see only unpadded keys.
        const Tensor unpadded = linear_attention(qb.narrow(2, 0, n), kb, vb, {.causal = true});
        CHECK(max(abs(masked.narrow(0, b, 1).narrow(2, 0, n) - unpadded)).item<double>() < 1e-12);
      }
    }
  }
}

TEST_CASE("linear attention layer: padded keys have no effect with a FAVOR+ map either") {
  manual_seed(48);
  nn::AttentionOptions o;
  o.kind = nn::AttentionKind::Linear;
  o.feature_map = nn::feature_maps::favor({.num_features = 16});
  nn::MultiHeadAttention mha(8, 2, o);
  mha.to(kFloat64);
  Tensor x = randn({1, 3, 8}, kFloat64), memory = randn({1, 5, 8}, kFloat64);
  Tensor padded = cat({memory, randn({1, 2, 8}, kFloat64)}, 1);
  const Tensor unpadded_out = mha.forward(x, memory, memory);
  const Tensor masked_out = mha.forward(x, padded, padded, from_vector<std::int64_t>({5}));
  // Equal up to eps's share of the normaliser: the padded keys move the shared key stabilizer.
  CHECK(max(abs(masked_out - unpadded_out)).item<double>() < 1e-5);
}
