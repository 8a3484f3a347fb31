// Op table rows of the attention ops: scaled_dot_product_attention (ops/sdpa.h),
// linear_attention and causal_linear_attention (ops/linear_attention.h), against attention written
// out with loops.
#include <cmath>

#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;

namespace {

// (B, H, N, X) values of one head, row i.
struct Heads {
  std::vector<double> v;
  std::int64_t B, H, N, X;
  explicit Heads(const Tensor& t) : v(t.to_vector<double>()), B(t.size(0)), H(t.size(1)), N(t.size(2)), X(t.size(3)) {}
  const double* row(std::int64_t b, std::int64_t h, std::int64_t i) const { return v.data() + ((b * H + h) * N + i) * X; }
};

// softmax(scale q k^T + mask) v per head; masked: j > i when causal, j >= length[b]; a row with no
// visible key gives zeros.
Tensor ref_sdpa(const Tensor& qt, const Tensor& kt, const Tensor& vt, bool causal, double scale,
                const std::vector<std::int64_t>& lengths) {
  const Heads q(qt), k(kt), v(vt);
  std::vector<double> out(q.B * q.H * q.N * v.X, 0.0);
  for (std::int64_t b = 0; b < q.B; ++b)
    for (std::int64_t h = 0; h < q.H; ++h)
      for (std::int64_t i = 0; i < q.N; ++i) {
        std::vector<double> w(k.N, 0.0);
        double m = -INFINITY, z = 0;
        auto visible = [&](std::int64_t j) { return !(causal && j > i) && (lengths.empty() || j < lengths[b]); };
        for (std::int64_t j = 0; j < k.N; ++j) {
          if (!visible(j)) continue;
          for (std::int64_t d = 0; d < q.X; ++d) w[j] += q.row(b, h, i)[d] * k.row(b, h, j)[d];
          w[j] *= scale;
          m = std::max(m, w[j]);
        }
        for (std::int64_t j = 0; j < k.N; ++j) z += visible(j) ? std::exp(w[j] - m) : 0.0;
        double* o = out.data() + ((b * q.H + h) * q.N + i) * v.X;
        for (std::int64_t j = 0; j < k.N; ++j)
          if (visible(j))
            for (std::int64_t e = 0; e < v.X; ++e) o[e] += std::exp(w[j] - m) / z * v.row(b, h, j)[e];
      }
  return ref::make(out, {q.B, q.H, q.N, v.X});
}

// out_i = sum_{j visible} (q_i . k_j) v_j / (q_i . sum_{j visible} k_j + eps), visible: j <= i
// when causal, j < length[b] with lengths.
Tensor ref_linear_attention(const Tensor& qt, const Tensor& kt, const Tensor& vt, double eps, bool causal = true,
                            const std::vector<std::int64_t>& lengths = {}) {
  const Heads q(qt), k(kt), v(vt);
  std::vector<double> out(q.B * q.H * q.N * v.X, 0.0);
  for (std::int64_t b = 0; b < q.B; ++b)
    for (std::int64_t h = 0; h < q.H; ++h)
      for (std::int64_t i = 0; i < q.N; ++i) {
        double* o = out.data() + ((b * q.H + h) * q.N + i) * v.X;
        double denominator = eps;
        const std::int64_t end = std::min(causal ? i + 1 : k.N, lengths.empty() ? k.N : std::max<std::int64_t>(lengths[b], 0));
        for (std::int64_t j = 0; j < end; ++j) {
          double dot = 0;
          for (std::int64_t d = 0; d < q.X; ++d) dot += q.row(b, h, i)[d] * k.row(b, h, j)[d];
          denominator += dot;
          for (std::int64_t e = 0; e < v.X; ++e) o[e] += dot * v.row(b, h, j)[e];
        }
        for (std::int64_t e = 0; e < v.X; ++e) o[e] /= denominator;
      }
  return ref::make(out, {q.B, q.H, q.N, v.X});
}

// phi(x) = elu(x) + 1 > 0, as the linear attention layers feed this op.
Tensor features(const Shape& shape) { return ref::map(randn(shape, kFloat64), [](double x) { return x > 0 ? x + 1 : std::exp(x); }); }

}  // namespace

// The four variants in one entry: plain (Nq != Nk), causal, key lengths with an empty sequence.
EMBER_OP(scaled_dot_product_attention) {
  return {.name = "scaled_dot_product_attention",
          .op = [](Inputs in) {
            SdpaOptions plain, causal, lengths;
            plain.scale = 0.3;
            causal.causal = true;
            lengths.key_lengths = in[3].to(in[0].device());
            const Tensor square = in[1].narrow(2, 0, in[0].size(2));
            return cat({scaled_dot_product_attention(in[0], in[1], in[2], plain).reshape({-1}),
                        scaled_dot_product_attention(in[0], square, in[2].narrow(2, 0, in[0].size(2)), causal).reshape({-1}),
                        scaled_dot_product_attention(in[0], in[1], in[2], lengths).reshape({-1})});
          },
          .samples = [] {
            return std::vector<Sample>{
                {"B 2, H 2, Nq 3, Nk 5", {s::normal({2, 2, 3, 4}), s::normal({2, 2, 5, 4}), s::normal({2, 2, 5, 3}),
                                          from_vector<std::int64_t>({4, 0})}},
                {"strided keys (heads split from a projection)",
                 {s::normal({1, 2, 4, 3}), s::normal({1, 6, 2, 3}).transpose(1, 2), s::normal({1, 2, 6, 2}),
                  from_vector<std::int64_t>({5})}},
                {"empty batch", {s::normal({0, 2, 3, 4}), s::normal({0, 2, 5, 4}), s::normal({0, 2, 5, 3}), s::indices({0}, 1)}}};
          },
          .reference = [](Inputs in) {
            const double scale = 1 / std::sqrt(static_cast<double>(in[0].size(3)));
            const Tensor square_k = in[1].narrow(2, 0, in[0].size(2)), square_v = in[2].narrow(2, 0, in[0].size(2));
            const std::vector<Tensor> parts = {ref_sdpa(in[0], in[1], in[2], false, 0.3, {}),
                                               ref_sdpa(in[0], square_k, square_v, true, scale, {}),
                                               ref_sdpa(in[0], in[1], in[2], false, scale, in[3].to_vector<std::int64_t>())};
            std::vector<double> all;
            for (const Tensor& p : parts) {
              auto v = p.to_vector<double>();
              all.insert(all.end(), v.begin(), v.end());
            }
            return ref::make(all, {static_cast<std::int64_t>(all.size())});
          },
          .errors = {{"scaled_dot_product_attention: undefined key", [] { Tensor q = zeros({1, 1, 2, 2}); scaled_dot_product_attention(q, Tensor(), q); },
                      {"scaled_dot_product_attention", "undefined"}},
                     {"scaled_dot_product_attention: 3-d query",
                      [] { Tensor k = zeros({1, 1, 2, 2}); scaled_dot_product_attention(zeros({1, 2, 2}), k, k); },
                      {"scaled_dot_product_attention", "[1, 2, 2]", "(B, H, Nq, D)"}},
                     {"scaled_dot_product_attention: head sizes differ",
                      [] { scaled_dot_product_attention(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 4}), zeros({1, 1, 3, 2})); },
                      {"scaled_dot_product_attention", "[1, 1, 2, 2]", "[1, 1, 3, 4]"}},
                     {"scaled_dot_product_attention: int64 inputs",
                      [] { Tensor t = zeros({1, 1, 2, 2}, kInt64); scaled_dot_product_attention(t, t, t); },
                      {"scaled_dot_product_attention", "int64"}},
                     {"scaled_dot_product_attention: causal with Nq != Nk",
                      [] { SdpaOptions o; o.causal = true; scaled_dot_product_attention(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 2}), zeros({1, 1, 3, 2}), o); },
                      {"scaled_dot_product_attention", "causal", "2 and 3"}},
                     {"scaled_dot_product_attention: dropout of 1",
                      [] { SdpaOptions o; o.dropout_p = 1.0; Tensor t = zeros({1, 1, 2, 2}); scaled_dot_product_attention(t, t, t, o); },
                      {"scaled_dot_product_attention", "dropout_p", "1"}},
                     {"scaled_dot_product_attention: float key lengths",
                      [] { SdpaOptions o; o.key_lengths = zeros({1}); Tensor t = zeros({1, 1, 2, 2}); scaled_dot_product_attention(t, t, t, o); },
                      {"scaled_dot_product_attention", "key_lengths", "float32"}},
                     {"scaled_dot_product_attention: mixed devices",
                      [] { Tensor t = zeros({1, 1, 2, 2}); scaled_dot_product_attention(t, t, zeros({1, 1, 2, 2}, kCUDA)); },
                      {"scaled_dot_product_attention", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-10};
}

// Four variants in one entry: non-causal (Nq != Nk), causal, and both with key lengths.
EMBER_OP(linear_attention) {
  return {.name = "linear_attention",
          .op = [](Inputs in) {
            const Tensor lengths = in[3].to(in[0].device());
            const std::int64_t Nq = in[0].size(2);
            const Tensor square_k = in[1].narrow(2, 0, Nq), square_v = in[2].narrow(2, 0, Nq);
            return cat({linear_attention(in[0], in[1], in[2]).reshape({-1}),
                        linear_attention(in[0], square_k, square_v, {.causal = true, .chunk_size = 2}).reshape({-1}),
                        linear_attention(in[0], in[1], in[2], {.key_lengths = lengths}).reshape({-1}),
                        linear_attention(in[0], square_k, square_v, {.causal = true, .key_lengths = lengths}).reshape({-1})});
          },
          .samples = [] {
            return std::vector<Sample>{
                {"B 2, H 2, Nq 3, Nk 5", {features({2, 2, 3, 3}), features({2, 2, 5, 3}), s::normal({2, 2, 5, 2}),
                                          from_vector<std::int64_t>({4, 0})}},
                {"heads split from a projection, a length past the end",
                 {features({1, 4, 2, 3}).transpose(1, 2), features({1, 2, 6, 3}), s::normal({1, 6, 2, 4}).transpose(1, 2),
                  from_vector<std::int64_t>({9})}},
                {"empty batch", {features({0, 2, 3, 3}), features({0, 2, 5, 3}), s::normal({0, 2, 5, 2}), s::indices({0}, 1)}}};
          },
          .reference = [](Inputs in) {
            const std::int64_t Nq = in[0].size(2);
            const Tensor square_k = in[1].narrow(2, 0, Nq), square_v = in[2].narrow(2, 0, Nq);
            const std::vector<std::int64_t> lengths = in[3].to_vector<std::int64_t>();
            std::vector<double> all;
            for (const Tensor& p : {ref_linear_attention(in[0], in[1], in[2], 1e-6, false),
                                    ref_linear_attention(in[0], square_k, square_v, 1e-6, true),
                                    ref_linear_attention(in[0], in[1], in[2], 1e-6, false, lengths),
                                    ref_linear_attention(in[0], square_k, square_v, 1e-6, true, lengths)}) {
              auto v = p.to_vector<double>();
              all.insert(all.end(), v.begin(), v.end());
            }
            return ref::make(all, {static_cast<std::int64_t>(all.size())});
          },
          .errors = {{"linear_attention: undefined value", [] { Tensor t = zeros({1, 1, 4, 2}); linear_attention(t, t, Tensor()); }, {"linear_attention", "undefined"}},
                     {"linear_attention: 3-d phi_q",
                      [] { Tensor t = zeros({1, 1, 4, 2}); linear_attention(zeros({1, 4, 2}), t, t); },
                      {"linear_attention", "(B, H, Nq, D)", "[1, 4, 2]"}},
                     {"linear_attention: feature sizes differ",
                      [] { linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 3}), zeros({1, 1, 4, 2})); },
                      {"linear_attention", "[1, 1, 4, 2]", "[1, 1, 4, 3]"}},
                     {"linear_attention: v of another length",
                      [] { linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}), zeros({1, 1, 5, 2})); },
                      {"linear_attention", "[1, 1, 5, 2]"}},
                     {"linear_attention: dtype mismatch",
                      [] { linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}, kFloat64), zeros({1, 1, 4, 2})); },
                      {"linear_attention", "float32", "float64"}},
                     {"linear_attention: int64 inputs",
                      [] { Tensor t = zeros({1, 1, 4, 2}, kInt64); linear_attention(t, t, t); },
                      {"linear_attention", "int64"}},
                     {"linear_attention: causal with Nq != Nk",
                      [] { linear_attention(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 2}), zeros({1, 1, 3, 2}), {.causal = true}); },
                      {"linear_attention", "causal", "2 and 3"}},
                     {"linear_attention: negative eps",
                      [] { Tensor t = zeros({1, 1, 4, 2}); linear_attention(t, t, t, {.eps = -1.0}); },
                      {"linear_attention", "eps", "-1"}},
                     {"linear_attention: float key lengths",
                      [] { Tensor t = zeros({1, 1, 4, 2}); linear_attention(t, t, t, {.key_lengths = zeros({1})}); },
                      {"linear_attention", "key_lengths", "float32"}},
                     {"linear_attention: key lengths of another batch",
                      [] { Tensor t = zeros({2, 1, 4, 2}); linear_attention(t, t, t, {.key_lengths = from_vector<std::int64_t>({1})}); },
                      {"linear_attention", "key_lengths", "[2]", "[1]"}},
                     {"linear_attention: mixed devices",
                      [] { Tensor t = zeros({1, 1, 4, 2}); linear_attention(t, t, zeros({1, 1, 4, 2}, kCUDA)); },
                      {"linear_attention", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-10};
}

EMBER_OP(causal_linear_attention) {
  return {.name = "causal_linear_attention",
          .op = [](Inputs in) {
            // Chunks of 2 over N = 5: several chunks and a partial last one.
            return cat({causal_linear_attention(in[0], in[1], in[2], 1e-6, 2).reshape({-1}),
                        causal_linear_attention(in[0], in[1], in[2], 1e-6).reshape({-1})});
          },
          .samples = [] {
            return std::vector<Sample>{
                {"B 2, H 2, N 5", {features({2, 2, 5, 3}), features({2, 2, 5, 3}), s::normal({2, 2, 5, 2})}},
                {"heads split from a projection", {features({1, 5, 2, 3}).transpose(1, 2), features({1, 2, 5, 3}),
                                                   s::normal({1, 5, 2, 4}).transpose(1, 2)}},
                {"empty batch", {features({0, 2, 5, 3}), features({0, 2, 5, 3}), s::normal({0, 2, 5, 2})}}};
          },
          .reference = [](Inputs in) {
            auto v = ref_linear_attention(in[0], in[1], in[2], 1e-6).to_vector<double>();
            v.insert(v.end(), v.begin(), v.end());
            return ref::make(v, {static_cast<std::int64_t>(v.size())});
          },
          .errors = {{"causal_linear_attention: undefined value", [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, Tensor()); }, {"causal_linear_attention", "undefined"}},
                    {"causal_linear_attention: 3-d inputs",
                [] { causal_linear_attention(zeros({1, 4, 2}), zeros({1, 4, 2}), zeros({1, 4, 2})); },
                {"causal_linear_attention", "(B, H, N, D)", "[1, 4, 2]"}},
                    {"causal_linear_attention: q and k differ",
                [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 3}), zeros({1, 1, 4, 2})); },
                {"causal_linear_attention", "[1, 1, 4, 2]", "[1, 1, 4, 3]"}},
                    {"causal_linear_attention: v of another length",
                [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}), zeros({1, 1, 5, 2})); },
                {"causal_linear_attention", "[1, 1, 5, 2]"}},
                    {"causal_linear_attention: dtype mismatch",
                [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}, kFloat64), zeros({1, 1, 4, 2})); },
                {"causal_linear_attention", "float32", "float64"}},
                    {"causal_linear_attention: int64 inputs",
                [] { Tensor t = zeros({1, 1, 4, 2}, kInt64); causal_linear_attention(t, t, t); },
                {"causal_linear_attention", "int64"}},
                    {"causal_linear_attention: negative chunk size",
                [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, 1e-6, -1); },
                {"causal_linear_attention", "chunk_size", "-1"}},
                    {"causal_linear_attention: negative eps",
                [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, -1.0); },
                {"causal_linear_attention", "eps", "-1"}},
                    {"causal_linear_attention: NaN eps",
                [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, NAN); },
                {"causal_linear_attention", "eps", "nan"}},
                    {"causal_linear_attention: mixed devices",
                [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, zeros({1, 1, 4, 2}, kCUDA)); },
                {"causal_linear_attention", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-10};
}
