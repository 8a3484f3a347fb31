// Numerical stability: extreme but legitimate inputs give finite values and finite gradients.
// softmax/log_softmax/cross_entropy with logits of +-1e4 (exp overflows at ~89 in float32),
// layer_norm on constant rows (zero variance), and causal linear attention's normaliser over
// 65,536 positions, including rows whose features are all zero (the denominator is eps alone).
#include <algorithm>
#include <cmath>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Every element finite; names the tensor and the first bad element on failure.
void check_finite(const Tensor& t, const char* what) {
  REQUIRE(t.defined());
  const std::vector<double> values = t.to_vector<double>();
  const auto bad = std::find_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); });
  INFO(what << " element " << (bad - values.begin()) << " = " << (bad == values.end() ? 0.0 : *bad));
  CHECK(bad == values.end());
}

// (rows, C) logits mixing +-1e4 with ordinary values, in both float dtypes.
Tensor extreme_logits(DType dtype) {
  Tensor base = randn({4, 6}, kFloat64);
  Tensor big = tensor({1e4, -1e4, 0, 1e4, -1e4, 3}, kFloat64).reshape({1, 6});
  Tensor pick = tensor({1, 1, 0, 0}, kFloat64).reshape({4, 1});  // rows 0-1 extreme, 2-3 mixed
  Tensor logits = where(pick, big.expand({4, 6}), base + big * 0.5);
  return logits.to(dtype).detach().requires_grad_();
}

}  // namespace

TEST_CASE("stability: softmax and log_softmax of logits +-1e4 are finite, and so are their gradients") {
  for (DType dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    manual_seed(1);
    Tensor x = extreme_logits(dtype);
    Tensor p = softmax(x, -1), lp = log_softmax(x, -1);
    check_finite(p, "softmax");
    check_finite(lp, "log_softmax");
    check_values(sum(p, {-1}), {1, 1, 1, 1}, 1e-6);
    // Row 0 holds two tied maxima of 1e4: each gets probability 1/2, the rest ~0.
    check_values(p.select(0, 0), {0.5, 0, 0, 0.5, 0, 0}, 1e-6);
    CHECK(lp.select(0, 0).select(0, 1).item<double>() == doctest::Approx(-2e4 - std::log(2.0)).epsilon(1e-6));
    Tensor weights = randn({4, 6}, dtype);
    sum(p * weights + lp * weights).backward();
    check_finite(x.grad(), "d(softmax + log_softmax)/dx");
  }
}

TEST_CASE("stability: cross_entropy of logits +-1e4 is finite with finite gradients, with and without smoothing") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (double smoothing : {0.0, 0.1}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(smoothing);
      manual_seed(2);
      Tensor x = extreme_logits(dtype);
      // Row 0 targets a -1e4 logit: a loss of ~2e4, large but finite.
      Tensor loss = cross_entropy(x, from_vector<std::int64_t>({1, 0, 2, 5}), {.label_smoothing = smoothing});
      check_finite(loss, "cross_entropy");
      CHECK(loss.item<double>() > 1e3);
      loss.backward();
      check_finite(x.grad(), "dcross_entropy/dlogits");
      // Each row of the gradient is (softmax - target) / rows: it sums to zero. In float32 the
      // log-sum-exp near 1e4 is only stored to ~1e-3 (its ulp), so the softmax is that coarse.
      check_values(sum(x.grad(), {-1}), {0, 0, 0, 0}, dtype == kFloat32 ? 1e-3 : 1e-9);
    }
  }
}

TEST_CASE("stability: layer_norm of constant rows is finite and zero, with finite gradients") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (double value : {0.0, 3.0, 1e4}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(value);
      Tensor x = full({3, 8}, value, dtype).requires_grad_();
      Tensor w = randn({8}, dtype).requires_grad_(), b = zeros({8}, dtype).requires_grad_();
      Tensor y = layer_norm(x, {8}, w, b);
      check_finite(y, "layer_norm");
      check_values(y, std::vector<double>(24, 0.0), 1e-6);
      sum(y * randn({3, 8}, dtype)).backward();
      check_finite(x.grad(), "dx");
      check_finite(w.grad(), "dweight");
      check_finite(b.grad(), "dbias");
    }
  }
}

TEST_CASE("stability: causal linear attention over N = 65536 stays finite forward and backward") {
  // B = 1, H = 1, D = 2, M = 2 keeps it fast; the normaliser sums up to 65,536 positive terms.
  const std::int64_t N = 65536;
  manual_seed(4);
  Tensor q = randn({1, 1, N, 2}).requires_grad_(), k = randn({1, 1, N, 2}).requires_grad_();
  Tensor v = randn({1, 1, N, 2}).requires_grad_();
  Tensor out = causal_linear_attention(elu(q) + 1.0, elu(k) + 1.0, v, 1e-6);
  check_finite(out, "output");
  sum(out * randn({1, 1, N, 2})).backward();
  check_finite(q.grad(), "dq");
  check_finite(k.grad(), "dk");
  check_finite(v.grad(), "dv");
}

TEST_CASE("stability: causal linear attention rows with all-zero features divide by eps alone") {
  // relu features vanish for negative inputs: those rows' normaliser is exactly eps.
  const std::int64_t N = 65536;
  manual_seed(5);
  Tensor q = randn({1, 1, N, 2}).requires_grad_(), k = randn({1, 1, N, 2}).requires_grad_();
  Tensor v = randn({1, 1, N, 2}).requires_grad_();
  Tensor out = causal_linear_attention(relu(q - 1.0), relu(k - 1.0), v, 1e-6);
  check_finite(out, "output");
  sum(out).backward();
  check_finite(q.grad(), "dq");
  check_finite(k.grad(), "dk");
  check_finite(v.grad(), "dv");
}

TEST_CASE("stability: training a small CausalLM raises no anomaly, forward or backward") {
  autograd::DetectAnomalyGuard anomaly;
  for (auto kind : {nn::AttentionKind::Softmax, nn::AttentionKind::Linear}) {
    manual_seed(6);
    nn::TransformerConfig c;
    c.vocab_size = 7;
    c.d_model = 16;
    c.heads = 2;
    c.d_ff = 32;
    c.decoder_layers = 2;
    c.dropout = 0.1;
    c.attention = kind;
    nn::CausalLM model(c);
    optim::AdamW opt(model.parameters(), {.lr = 1e-2});
    Tensor tokens = randint(0, 7, {4, 12});
    for (int step = 0; step < 5; ++step) {
      Tensor logits = model.forward(tokens.narrow(1, 0, 11));
      Tensor loss = cross_entropy(logits, tokens.narrow(1, 1, 11).contiguous());
      opt.zero_grad();
      loss.backward();
      opt.step();
      check_finite(loss, "loss");
    }
  }
}
