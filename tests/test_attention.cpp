// MultiHeadAttention of both kinds: forward against naive per-head references, causality,
// key padding, gradient checks, and generation (RNN state / KV cache) equal to the parallel form.
#include <cmath>

#include "nn_helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Naive attention for one batch element and head, written with explicit loops over positions.
// Returns (B, Nq, d_model) after the output projection.
Tensor naive_attention(nn::MultiHeadAttention& mha, const Tensor& query, const Tensor& key, bool causal,
                       nn::AttentionKind kind, const std::vector<std::int64_t>& lengths = {}) {
  NoGradGuard no_grad;
  const std::int64_t B = query.size(0), Nq = query.size(1), Nk = key.size(1), d = query.size(2);
  const std::int64_t H = 2, Dh = d / H;
  Tensor Q = (*mha.q)(query), K = (*mha.k)(key), V = (*mha.v)(key);
  std::vector<Tensor> batches;
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<Tensor> rows;
    for (std::int64_t i = 0; i < Nq; ++i) {
      std::vector<Tensor> heads;
      for (std::int64_t h = 0; h < H; ++h) {
        Tensor q = Q.select(0, b).select(0, i).narrow(0, h * Dh, Dh);
        Tensor acc = zeros({Dh}, kFloat64);
        double total = 0;
        std::vector<double> weights;
        std::int64_t limit = causal ? i + 1 : (lengths.empty() ? Nk : lengths[b]);
        for (std::int64_t j = 0; j < limit; ++j) {
          Tensor k = K.select(0, b).select(0, j).narrow(0, h * Dh, Dh);
          double w = kind == nn::AttentionKind::Softmax
                         ? std::exp(sum(q * k).item<double>() / std::sqrt(double(Dh)))
                         : sum((elu(q) + 1.0) * (elu(k) + 1.0)).item<double>();
          weights.push_back(w);
          total += w;
        }
        for (std::int64_t j = 0; j < limit; ++j)
          acc = acc + V.select(0, b).select(0, j).narrow(0, h * Dh, Dh) * weights[j];
        heads.push_back(acc / (total + (kind == nn::AttentionKind::Linear ? 1e-6 : 0.0)));
      }
      rows.push_back(cat(heads, 0));
    }
    batches.push_back(stack(rows, 0));
  }
  return (*mha.out)(stack(batches, 0));
}

std::shared_ptr<nn::MultiHeadAttention> make_attention(nn::AttentionKind kind, bool causal) {
  nn::AttentionOptions o;
  o.kind = kind;
  o.causal = causal;
  auto mha = std::make_shared<nn::MultiHeadAttention>(4, 2, o);
  mha->to(kFloat64);
  return mha;
}

const nn::AttentionKind kKinds[] = {nn::AttentionKind::Softmax, nn::AttentionKind::Linear};

}  // namespace

TEST_CASE("attention: forward equals a naive per-head loop, both kinds, causal or not, key padding") {
  manual_seed(11);
  for (auto kind : kKinds) {
    for (bool causal : {false, true}) {
      INFO(nn::attention_kind_name(kind) << " causal=" << causal);
      auto mha = make_attention(kind, causal);
      Tensor x = randn({2, 5, 4}, kFloat64);
      Tensor out = mha->forward(x, x, x);
      CHECK(max(abs(out - naive_attention(*mha, x, x, causal, kind))).item<double>() < 1e-10);
    }
    auto mha = make_attention(kind, false);
    Tensor q = randn({2, 3, 4}, kFloat64), mem = randn({2, 6, 4}, kFloat64);
    Tensor lengths = from_vector<std::int64_t>({4, 6});
    Tensor out = mha->forward(q, mem, mem, lengths);
    CHECK(max(abs(out - naive_attention(*mha, q, mem, false, kind, {4, 6}))).item<double>() < 1e-10);
  }
}

TEST_CASE("attention: causal outputs never depend on later inputs (exact zeros)") {
  manual_seed(12);
  for (auto kind : kKinds) {
    auto mha = make_attention(kind, true);
    const std::int64_t N = 9;
    for (std::int64_t t = 0; t < N; ++t) {
      Tensor x = randn({2, N, 4}, kFloat64).requires_grad_();
      sum(mha->forward(x, x, x).select(1, t)).backward();
      Tensor later = x.grad().slice(1, t + 1, N);
      INFO(nn::attention_kind_name(kind) << " t=" << t);
      CHECK(max(abs(later.numel() ? later : zeros({1}, kFloat64))).item<double>() == 0.0);
      CHECK(max(abs(x.grad().select(1, t))).item<double>() > 0.0);
    }
  }
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: MultiHeadAttention") {
  manual_seed(13);
  for (auto kind : kKinds) {
    for (bool causal : {false, true}) {
      INFO(nn::attention_kind_name(kind) << " causal=" << causal);
      auto mha = make_attention(kind, causal);
      check_gradients([&](const std::vector<Tensor>& in) { return mha->forward(in[0], in[0], in[0]); }, {input({1, 4, 4})});
      Tensor x = randn({2, 3, 4}, kFloat64);
      check_parameter_gradients(*mha, [&] { return mha->forward(x, x, x); });
    }
    auto cross = make_attention(kind, false);
    Tensor lengths = from_vector<std::int64_t>({2, 3});
    check_gradients([&](const std::vector<Tensor>& in) { return cross->forward(in[0], in[1], in[1], lengths); },
                    {input({2, 2, 4}), input({2, 3, 4})});
  }
}
}

TEST_CASE("attention: a custom feature map plugs in") {
  manual_seed(14);
  nn::AttentionOptions o;
  o.kind = nn::AttentionKind::Linear;
  o.feature_map = [](const Tensor& x) { return exp(x); };  // positive, user-defined
  nn::MultiHeadAttention mha(4, 2, o);
  mha.to(kFloat64);
  Tensor x = randn({1, 3, 4}, kFloat64);
  Tensor out = mha.forward(x, x, x);
  CHECK(out.shape() == Shape{1, 3, 4});
  nn::AttentionOptions relu_options;
  relu_options.kind = nn::AttentionKind::Linear;
  relu_options.feature_map = nn::feature_maps::relu();
  nn::MultiHeadAttention relu_mha(4, 2, relu_options);
  CHECK(relu_mha.forward(x.to(kFloat32), x.to(kFloat32), x.to(kFloat32)).shape() == Shape{1, 3, 4});
}

TEST_CASE("attention: step-by-step generation equals the parallel causal forward") {
  manual_seed(15);
  for (auto kind : kKinds) {
    auto mha = make_attention(kind, true);
    mha->eval();
    const std::int64_t N = 70;  // crosses the KV cache's first growth and a linear chunk
    Tensor x = randn({2, N, 4}, kFloat64);
    Tensor full_out = mha->forward(x, x, x);
    nn::AttentionCache cache;
    for (std::int64_t t = 0; t < N; ++t) {
      Tensor step = mha->forward_step(x.narrow(1, t, 1), cache);
      INFO(nn::attention_kind_name(kind) << " t=" << t);
      CHECK(max(abs(step - full_out.narrow(1, t, 1))).item<double>() < 1e-10);
    }
  }
}

TEST_CASE("attention: bad inputs") {
  auto mha = make_attention(nn::AttentionKind::Softmax, true);
  CHECK_ERROR_CONTAINS(mha->forward(zeros({1, 3, 5}, kFloat64), zeros({1, 3, 5}, kFloat64), zeros({1, 3, 5}, kFloat64)),
                       "MultiHeadAttention", "[1, 3, 5]");
  CHECK_ERROR_CONTAINS(mha->forward(zeros({1, 3, 4}, kFloat64), zeros({1, 2, 4}, kFloat64), zeros({1, 2, 4}, kFloat64)),
                       "MultiHeadAttention", "causal");
  CHECK_ERROR_CONTAINS(nn::MultiHeadAttention(6, 4), "MultiHeadAttention", "6", "4");
  CHECK_ERROR_CONTAINS(nn::parse_attention_kind("foo"), "softmax", "linear", "foo");
}
