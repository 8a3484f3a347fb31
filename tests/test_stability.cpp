// Numerical stability: extreme but legitimate inputs give finite values and finite gradients.
// softmax/log_softmax/cross_entropy with logits of +-1e4 (exp overflows at ~89 in float32),
// layer_norm on constant rows (zero variance), and causal linear attention's normaliser over
// 65,536 positions, including rows whose features are all zero (the denominator is eps alone).
#include <algorithm>
#include <cmath>
#include <functional>

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

// |actual - expected| <= atol + rtol |expected| element by element, naming the first failure. All-zero
// gradients fail it wherever |expected| > atol / (1 - rtol): every caller says how many such elements
// it expects.
void check_close(const Tensor& actual, const std::vector<double>& expected, double atol, double rtol,
                 const char* what) {
  REQUIRE(actual.defined());
  const std::vector<double> got = actual.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  std::size_t bad = got.size();
  for (std::size_t i = 0; i < got.size() && bad == got.size(); ++i)
    if (!(std::abs(got[i] - expected[i]) <= atol + rtol * std::abs(expected[i]))) bad = i;
  INFO(what << ": element " << bad << " is " << (bad < got.size() ? got[bad] : 0.0) << ", expected "
            << (bad < got.size() ? expected[bad] : 0.0));
  CHECK(bad == got.size());
}

// ||actual - expected|| / ||expected|| (2-norms) at most `bound`: zero gradients score 1.
void check_relative_l2(const Tensor& actual, const std::vector<double>& expected, double bound, const char* what) {
  const std::vector<double> got = actual.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    diff += (got[i] - expected[i]) * (got[i] - expected[i]);
    norm += expected[i] * expected[i];
  }
  REQUIRE(norm > 0);
  INFO(what << ": relative 2-norm error " << std::sqrt(diff / norm) << " (bound " << bound << ")");
  CHECK(std::sqrt(diff / norm) <= bound);
}

// How many elements have |value| > threshold.
std::size_t count_above(const std::vector<double>& values, double threshold) {
  return static_cast<std::size_t>(
      std::count_if(values.begin(), values.end(), [&](double v) { return std::abs(v) > threshold; }));
}

// Softmax of each row of a (rows, C) matrix in double, shifted by the row's maximum.
std::vector<double> softmax_rows(const std::vector<double>& x, std::int64_t rows, std::int64_t C) {
  std::vector<double> p(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double largest = x[r * C], total = 0;
    for (std::int64_t c = 1; c < C; ++c) largest = std::max(largest, x[r * C + c]);
    for (std::int64_t c = 0; c < C; ++c) total += p[r * C + c] = std::exp(x[r * C + c] - largest);
    for (std::int64_t c = 0; c < C; ++c) p[r * C + c] /= total;
  }
  return p;
}

// Causal linear attention with an elementwise feature map, forward and backward, in double over
// (N, D) q and k and (N, M) v, for the loss sum(out * g):
//   S_i = sum_{j<=i} phi(k_j) v_j^T, Z_i = sum_{j<=i} phi(k_j), out_i = phi(q_i)^T S_i / (phi(q_i).Z_i + eps);
//   dphi(q_i) = (S_i g_i - Z_i (g_i.out_i)) / den_i;
//   with R_j = sum_{i>=j} phi(q_i) g_i^T / den_i and r_j = -sum_{i>=j} phi(q_i) (g_i.out_i) / den_i:
//   dphi(k_j) = R_j v_j + r_j and dv_j = R_j^T phi(k_j).
struct LinearAttentionReference {
  std::vector<double> out, dq, dk, dv;
  std::size_t rows_with_eps_alone = 0;  // rows whose normaliser is exactly eps
};

LinearAttentionReference causal_linear_attention_loops(const std::vector<double>& q, const std::vector<double>& k,
                                                       const std::vector<double>& v, const std::vector<double>& g,
                                                       std::int64_t N, std::int64_t D, std::int64_t M,
                                                       const std::function<double(double)>& phi,
                                                       const std::function<double(double)>& dphi, double eps) {
  LinearAttentionReference ref;
  ref.out.assign(N * M, 0.0);
  ref.dq.assign(N * D, 0.0);
  ref.dk.assign(N * D, 0.0);
  ref.dv.assign(N * M, 0.0);
  std::vector<double> S(D * M, 0.0), Z(D, 0.0), den(N), g_dot_out(N);
  for (std::int64_t i = 0; i < N; ++i) {
    for (std::int64_t d = 0; d < D; ++d) {
      const double fk = phi(k[i * D + d]);
      Z[d] += fk;
      for (std::int64_t m = 0; m < M; ++m) S[d * M + m] += fk * v[i * M + m];
    }
    double dot = eps;
    for (std::int64_t d = 0; d < D; ++d) dot += phi(q[i * D + d]) * Z[d];
    den[i] = dot;
    if (dot == eps) ++ref.rows_with_eps_alone;
    g_dot_out[i] = 0;
    for (std::int64_t m = 0; m < M; ++m) {
      double num = 0;
      for (std::int64_t d = 0; d < D; ++d) num += phi(q[i * D + d]) * S[d * M + m];
      ref.out[i * M + m] = num / den[i];
      g_dot_out[i] += g[i * M + m] * ref.out[i * M + m];
    }
    for (std::int64_t d = 0; d < D; ++d) {
      double dfq = -Z[d] * g_dot_out[i];
      for (std::int64_t m = 0; m < M; ++m) dfq += S[d * M + m] * g[i * M + m];
      ref.dq[i * D + d] = dfq / den[i] * dphi(q[i * D + d]);
    }
  }
  std::vector<double> R(D * M, 0.0), r(D, 0.0);
  for (std::int64_t j = N - 1; j >= 0; --j) {
    for (std::int64_t d = 0; d < D; ++d) {
      const double fq = phi(q[j * D + d]);
      r[d] -= fq * g_dot_out[j] / den[j];
      for (std::int64_t m = 0; m < M; ++m) R[d * M + m] += fq * g[j * M + m] / den[j];
    }
    for (std::int64_t d = 0; d < D; ++d) {
      double dfk = r[d];
      for (std::int64_t m = 0; m < M; ++m) dfk += R[d * M + m] * v[j * M + m];
      ref.dk[j * D + d] = dfk * dphi(k[j * D + d]);
    }
    for (std::int64_t m = 0; m < M; ++m) {
      double acc = 0;
      for (std::int64_t d = 0; d < D; ++d) acc += R[d * M + m] * phi(k[j * D + d]);
      ref.dv[j * M + m] = acc;
    }
  }
  return ref;
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
    // d/dx_j of sum_i w_i (p_i + log p_i) = p_j (w_j - sum_i p_i w_i) + w_j - p_j sum_i w_i, from the
    // same (rounded) logits in double. In float32 the log-sum-exp near 1e4 is stored to about 1e-3.
    const std::vector<double> xs = x.to_vector<double>(), w = weights.to_vector<double>();
    const std::vector<double> ps = softmax_rows(xs, 4, 6);
    std::vector<double> expected(24);
    for (int r = 0; r < 4; ++r) {
      double pw = 0, wsum = 0;
      for (int c = 0; c < 6; ++c) {
        pw += ps[r * 6 + c] * w[r * 6 + c];
        wsum += w[r * 6 + c];
      }
      for (int c = 0; c < 6; ++c)
        expected[r * 6 + c] = ps[r * 6 + c] * (w[r * 6 + c] - pw) + w[r * 6 + c] - ps[r * 6 + c] * wsum;
    }
    CHECK(count_above(expected, 0.1) >= 12);
    check_close(x.grad(), expected, dtype == kFloat32 ? 5e-3 : 1e-9, 1e-3, "d(softmax + log_softmax)/dx");
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
      // Loss and gradient in double: with the target t = (1 - s) onehot + s / C,
      // loss = mean_r -sum_c t_c log p_c and dloss/dx = (p - t) / rows.
      const std::vector<std::int64_t> targets{1, 0, 2, 5};
      const std::vector<double> xs = x.to_vector<double>(), ps = softmax_rows(xs, 4, 6);
      std::vector<double> expected_grad(24);
      double expected_loss = 0;
      for (int r = 0; r < 4; ++r) {
        double largest = xs[r * 6], total = 0;
        for (int c = 1; c < 6; ++c) largest = std::max(largest, xs[r * 6 + c]);
        for (int c = 0; c < 6; ++c) total += std::exp(xs[r * 6 + c] - largest);
        const double lse = largest + std::log(total);
        for (int c = 0; c < 6; ++c) {
          const double t = (c == targets[r] ? 1 - smoothing : 0.0) + smoothing / 6;
          expected_loss -= t * (xs[r * 6 + c] - lse) / 4;
          expected_grad[r * 6 + c] = (ps[r * 6 + c] - t) / 4;
        }
      }
      CHECK(loss.item<double>() == doctest::Approx(expected_loss).epsilon(dtype == kFloat32 ? 1e-5 : 1e-12));
      CHECK(count_above(expected_grad, 0.05) >= 6);
      check_close(x.grad(), expected_grad, dtype == kFloat32 ? 1e-3 : 1e-12, 1e-3, "dcross_entropy/dlogits");
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
      Tensor g = randn({3, 8}, dtype);
      sum(y * g).backward();
      check_finite(x.grad(), "dx");
      check_finite(w.grad(), "dweight");
      check_finite(b.grad(), "dbias");
      // The normalised rows are exactly 0, so with rstd = 1 / sqrt(0 + eps):
      //   dx = rstd (w g - mean_row(w g)), dweight = sum_rows g * 0 = 0, dbias = sum_rows g.
      const double rstd = 1 / std::sqrt(1e-5);
      const std::vector<double> gs = g.to_vector<double>(), ws = w.to_vector<double>();
      std::vector<double> dx(24), dbias(8, 0.0);
      for (int r = 0; r < 3; ++r) {
        double mean_wg = 0;
        for (int c = 0; c < 8; ++c) mean_wg += ws[c] * gs[r * 8 + c] / 8;
        for (int c = 0; c < 8; ++c) {
          dx[r * 8 + c] = rstd * (ws[c] * gs[r * 8 + c] - mean_wg);
          dbias[c] += gs[r * 8 + c];
        }
      }
      CHECK(count_above(dx, 1.0) >= 12);  // rstd is about 316
      check_close(x.grad(), dx, dtype == kFloat32 ? 1e-3 : 1e-9, 1e-4, "dx");
      check_close(w.grad(), std::vector<double>(8, 0.0), 1e-6, 0, "dweight");
      check_close(b.grad(), dbias, 1e-6, 1e-6, "dbias");
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
  Tensor g = randn({1, 1, N, 2});
  sum(out * g).backward();
  check_finite(q.grad(), "dq");
  check_finite(k.grad(), "dk");
  check_finite(v.grad(), "dv");
  // Values and gradients against the running sums in double: the float32 kernel's sums over 65,536
  // positions must not drift (or vanish) on the way.
  const auto ref = causal_linear_attention_loops(
      q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(), g.to_vector<double>(), N, 2, 2,
      [](double t) { return t > 0 ? t + 1 : std::exp(t); }, [](double t) { return t > 0 ? 1.0 : std::exp(t); }, 1e-6);
  // Gradients shrink with the number of positions summed (most are 1e-4 to 1e-2 here); more than N of
  // the 2N elements of each are above the per-element floor of 1e-4. Measured: relative 2-norm errors
  // of 2e-7 to 6e-7, the largest element error 3e-3 of its value.
  CHECK(count_above(ref.dq, 2e-4) > static_cast<std::size_t>(N));
  CHECK(count_above(ref.dk, 2e-4) > static_cast<std::size_t>(N));
  CHECK(count_above(ref.dv, 2e-4) > static_cast<std::size_t>(N));
  check_close(out, ref.out, 1e-4, 1e-2, "output");
  check_close(q.grad(), ref.dq, 1e-4, 1e-2, "dq");
  check_close(k.grad(), ref.dk, 1e-4, 1e-2, "dk");
  check_close(v.grad(), ref.dv, 1e-4, 1e-2, "dv");
  check_relative_l2(out, ref.out, 1e-5, "output");
  check_relative_l2(q.grad(), ref.dq, 1e-5, "dq");
  check_relative_l2(k.grad(), ref.dk, 1e-5, "dk");
  check_relative_l2(v.grad(), ref.dv, 1e-5, "dv");
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
  const auto ref = causal_linear_attention_loops(
      q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(), std::vector<double>(N * 2, 1.0), N, 2, 2,
      [](double t) { return t > 1 ? t - 1 : 0.0; }, [](double t) { return t > 1 ? 1.0 : 0.0; }, 1e-6);
  CHECK(ref.rows_with_eps_alone > static_cast<std::size_t>(N / 2));  // what this case is about
  // Only features above zero carry gradient: a few thousand elements of dq, tens of thousands of dk
  // and dv. Measured: relative 2-norm errors of 4e-7 (dq: 7e-6, its rows divide by eps-sized sums).
  CHECK(count_above(ref.dq, 1e-2) > 1000);
  CHECK(count_above(ref.dk, 1e-2) > static_cast<std::size_t>(N / 10));
  CHECK(count_above(ref.dv, 1e-2) > static_cast<std::size_t>(N / 10));
  check_close(out, ref.out, 1e-4, 1e-2, "output");
  check_close(q.grad(), ref.dq, 1e-3, 1e-2, "dq");
  check_close(k.grad(), ref.dk, 1e-4, 1e-2, "dk");
  check_close(v.grad(), ref.dv, 1e-4, 1e-2, "dv");
  check_relative_l2(out, ref.out, 1e-5, "output");
  check_relative_l2(q.grad(), ref.dq, 1e-4, "dq");
  check_relative_l2(k.grad(), ref.dk, 1e-5, "dk");
  check_relative_l2(v.grad(), ref.dv, 1e-5, "dv");
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
    double first_loss = 0, last_loss = 0;
    for (int step = 0; step < 5; ++step) {
      Tensor logits = model.forward(tokens.narrow(1, 0, 11));
      Tensor loss = cross_entropy(logits, tokens.narrow(1, 1, 11).contiguous());
      opt.zero_grad();
      loss.backward();
      // Every parameter gets a gradient, and a non-zero one.
      for (const auto& [name, p] : model.named_parameters()) {
        INFO(nn::attention_kind_name(kind) << " step " << step << ": " << name);
        REQUIRE(p.grad().defined());
        check_finite(p.grad(), "parameter gradient");
        CHECK(max(abs(p.grad())).item<double>() > 0.0);
      }
      opt.step();
      check_finite(loss, "loss");
      (step == 0 ? first_loss : last_loss) = loss.item<double>();
    }
    // The steps learn: five AdamW steps at lr 1e-2 on one batch lower its loss.
    INFO(nn::attention_kind_name(kind) << ": loss " << first_loss << " -> " << last_loss);
    CHECK(last_loss < first_loss - 0.05);
  }
}
