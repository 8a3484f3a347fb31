// MultiHeadAttention of both kinds: forward against naive per-head references, causality,
// key padding, gradient checks, and generation (RNN state / KV cache) equal to the parallel form.
#include <algorithm>
#include <cmath>

#include "loop_reference.h"
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

TEST_CASE("attention: a custom feature map is the one applied, parallel, causal and step by step") {
  manual_seed(14);
  // A map of the user's own (positive, elementwise), and the same map in double for the reference.
  const auto square_tensor = [](const Tensor& x) { return x * x + 0.25; };
  const auto square = [](double x) { return x * x + 0.25; };
  Tensor x = randn({2, 5, 4}, kFloat64);
  for (bool causal : {false, true}) {
    INFO("causal=" << causal);
    nn::AttentionOptions o;
    o.kind = nn::AttentionKind::Linear;
    o.causal = causal;
    o.feature_map = square_tensor;
    nn::MultiHeadAttention mha(4, 2, o);
    mha.to(kFloat64);
    loops::AttentionSpec spec{.heads = 2, .kind = nn::AttentionKind::Linear, .causal = causal, .phi = square};
    std::vector<double> expected, with_default_map;
    for (std::int64_t b = 0; b < 2; ++b) {
      const loops::Matrix xb = loops::matrix_of(x.select(0, b));
      loops::append(expected, loops::attention(mha, "", xb, xb, spec));
      loops::AttentionSpec default_spec = spec;
      default_spec.phi = loops::elu_plus_one;
      loops::append(with_default_map, loops::attention(mha, "", xb, xb, default_spec));
    }
    Tensor out = mha.forward(x, x, x);
    check_values(out, expected, 1e-10);
    // The map matters: the default map's reference is far from this output.
    const std::vector<double> got = out.to_vector<double>();
    double gap = 0;
    for (std::size_t i = 0; i < got.size(); ++i) gap = std::max(gap, std::abs(got[i] - with_default_map[i]));
    CHECK(gap > 1e-2);
    // Same weights, another user map (exp): another output.
    nn::AttentionOptions exp_options = o;
    exp_options.feature_map = [](const Tensor& t) { return exp(t); };
    nn::MultiHeadAttention exp_mha(4, 2, exp_options);
    exp_mha.to(kFloat64);
    exp_mha.load_state_dict(mha.state_dict());
    loops::AttentionSpec exp_spec = spec;
    exp_spec.phi = [](double t) { return std::exp(t); };
    std::vector<double> exp_expected;
    for (std::int64_t b = 0; b < 2; ++b) {
      const loops::Matrix xb = loops::matrix_of(x.select(0, b));
      loops::append(exp_expected, loops::attention(exp_mha, "", xb, xb, exp_spec));
    }
    Tensor exp_out = exp_mha.forward(x, x, x);
    check_values(exp_out, exp_expected, 1e-10);
    CHECK(max(abs(exp_out - out)).item<double>() > 1e-2);
    if (causal) {
      // The recurrent form applies the map too.
      mha.eval();
      nn::AttentionCache cache;
      for (std::int64_t t = 0; t < 5; ++t) {
        INFO("t=" << t);
        Tensor step = mha.forward_step(x.narrow(1, t, 1), cache);
        std::vector<double> expected_step;
        for (std::int64_t b = 0; b < 2; ++b)
          for (std::int64_t c = 0; c < 4; ++c) expected_step.push_back(expected[(b * 5 + t) * 4 + c]);
        check_values(step, expected_step, 1e-10);
      }
    }
  }
  // A built-in map in float32 (relu) against the same loop.
  nn::AttentionOptions relu_options;
  relu_options.kind = nn::AttentionKind::Linear;
  relu_options.feature_map = nn::feature_maps::relu();
  nn::MultiHeadAttention relu_mha(4, 2, relu_options);
  Tensor x32 = x.to(kFloat32);
  std::vector<double> relu_expected;
  loops::AttentionSpec relu_spec{.heads = 2, .kind = nn::AttentionKind::Linear, .phi = loops::relu};
  for (std::int64_t b = 0; b < 2; ++b) {
    const loops::Matrix xb = loops::matrix_of(x32.select(0, b));
    loops::append(relu_expected, loops::attention(relu_mha, "", xb, xb, relu_spec));
  }
  check_values(relu_mha.forward(x32, x32, x32), relu_expected, 1e-4);
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
