// Op table rows of the ops a generation step runs: linear and linear_out (ops/linear.h),
// softmax_attention_step and linear_attention_step (ops/attention_step.h), against loops in float64.
#include <cmath>

#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;

namespace {

// x (..., K) W^T + b, row by row.
Tensor ref_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const std::int64_t N = w.size(0), K = w.size(1), rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> out(rows * N);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = bv[n];
      for (std::int64_t k = 0; k < K; ++k) acc += xv[r * K + k] * wv[n * K + k];
      out[r * N + n] = acc;
    }
  Shape shape = x.shape();
  shape.back() = N;
  return ref::make(out, shape);
}

std::vector<Sample> linear_samples() {
  return {{"rows (2, 3) with W (4, 3)", {s::normal({2, 3}), s::normal({4, 3}), s::normal({4})}},
          {"one row (1, 1, 5): GEMV", {s::normal({1, 1, 5}), s::normal({6, 5}), s::normal({6})}},
          {"one row, transposed weight", {s::normal({1, 5}), s::transposed(6, 5), s::normal({6})}},
          {"rows one stride apart (a position of a batch)", {s::normal({2, 3, 4}).narrow(1, 1, 1), s::normal({3, 4}), s::normal({3})}},
          {"step-2 columns (copied)", {s::strided({2, 4}), s::normal({3, 4}), s::normal({3})}},
          {"K = 0: the bias", {s::normal({2, 0}), s::normal({3, 0}), s::normal({3})}},
          {"no rows", {s::normal({0, 3}), s::normal({2, 3}), s::normal({2})}}};
}

Tensor concat(const std::vector<Tensor>& parts) {
  std::vector<Tensor> flat;
  for (const Tensor& p : parts) flat.push_back(p.reshape({-1}));
  return cat(flat);
}

// (B, H, X) row (b, h) and (B, H, N, X) row (b, h, i) of row-major values.
struct Rows {
  std::vector<double> v;
  Shape shape;
  explicit Rows(const Tensor& t) : v(t.to_vector<double>()), shape(t.shape()) {}
  double* at(std::int64_t b, std::int64_t h, std::int64_t i = 0) {
    const std::int64_t X = shape.back(), N = shape.size() == 4 ? shape[2] : 1;
    return v.data() + ((b * shape[1] + h) * N + i) * X;
  }
};

// in: q, k, v (B, H, X), keys, values (B, H, capacity, X), length (0-d int64). Returns out, then
// keys and values after the step.
Tensor ref_softmax_step(Inputs in) {
  Rows q(in[0]), k(in[1]), v(in[2]), keys(in[3]), values(in[4]);
  const std::int64_t B = q.shape[0], H = q.shape[1], D = q.shape[2], M = v.shape[2];
  const std::int64_t length = in[5].item<std::int64_t>();
  std::vector<double> out(B * H * M, 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h) {
      std::copy_n(k.at(b, h), D, keys.at(b, h, length));
      std::copy_n(v.at(b, h), M, values.at(b, h, length));
      std::vector<double> w(length + 1);
      double m = -INFINITY, z = 0;
      for (std::int64_t j = 0; j <= length; ++j) {
        for (std::int64_t d = 0; d < D; ++d) w[j] += q.at(b, h)[d] * keys.at(b, h, j)[d];
        w[j] /= std::sqrt(static_cast<double>(D));
        m = std::max(m, w[j]);
      }
      for (double& x : w) z += (x = std::exp(x - m));
      for (std::int64_t j = 0; j <= length; ++j)
        for (std::int64_t e = 0; e < M; ++e) out[(b * H + h) * M + e] += w[j] / z * values.at(b, h, j)[e];
    }
  return concat({ref::make(out, v.shape), ref::make(keys.v, keys.shape), ref::make(values.v, values.shape)});
}

double phi_of(StepFeatureMap phi, double x) {
  if (phi == StepFeatureMap::EluPlusOne) return x > 0 ? x + 1 : std::exp(x);
  if (phi == StepFeatureMap::Relu) return std::max(x, 0.0);
  return x;
}

// in: q, k, v (B, H, X), state (B, H, D, M), normalizer (B, H, D, 1). Returns out, state, normalizer.
Tensor ref_linear_step(Inputs in, StepFeatureMap phi, double eps) {
  Rows q(in[0]), k(in[1]), v(in[2]), S(in[3]), z(in[4]);
  const std::int64_t B = q.shape[0], H = q.shape[1], D = q.shape[2], M = v.shape[2];
  std::vector<double> out(B * H * M);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h) {
      double denominator = eps;
      std::vector<double> numerator(M, 0.0);
      for (std::int64_t d = 0; d < D; ++d) {
        const double fk = phi_of(phi, k.at(b, h)[d]), fq = phi_of(phi, q.at(b, h)[d]);
        z.at(b, h, d)[0] += fk;
        denominator += fq * z.at(b, h, d)[0];
        for (std::int64_t e = 0; e < M; ++e) {
          S.at(b, h, d)[e] += fk * v.at(b, h)[e];
          numerator[e] += fq * S.at(b, h, d)[e];
        }
      }
      for (std::int64_t e = 0; e < M; ++e) out[(b * H + h) * M + e] = numerator[e] / denominator;
    }
  return concat({ref::make(out, v.shape), ref::make(S.v, S.shape), ref::make(z.v, z.shape)});
}

constexpr StepFeatureMap kMaps[] = {StepFeatureMap::EluPlusOne, StepFeatureMap::Relu, StepFeatureMap::Identity};

}  // namespace

EMBER_OP(linear) {
  return {.name = "linear",
          .op = [](Inputs in) { return linear(in[0], in[1], in[2]); },
          .samples = linear_samples,
          .reference = [](Inputs in) { return ref_linear(in[0], in[1], in[2]); },
          .errors = {{"linear: undefined weight", [] { linear(zeros({2, 3}), Tensor()); }, {"linear", "undefined"}},
                     {"linear: in_features differ", [] { linear(zeros({2, 3}), zeros({4, 5})); },
                      {"linear", "[2, 3]", "[4, 5]", "(N, K)"}},
                     {"linear: bias of the wrong size", [] { linear(zeros({2, 3}), zeros({4, 3}), zeros({3})); },
                      {"linear", "bias", "[3]", "[4]"}},
                     {"linear: dtype mismatch", [] { linear(zeros({2, 3}), zeros({4, 3}, kFloat64)); },
                      {"linear", "[2, 3]", "[4, 3]", "float32", "float64"}},
                     {"linear: mixed devices", [] { linear(zeros({2, 3}), zeros({4, 3}, kCUDA)); },
                      {"linear", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-12};
}

EMBER_OP(linear_out) {
  return {.name = "linear_out",
          .op = [](Inputs in) {
            Shape shape = in[0].shape();
            shape.back() = in[1].size(0);
            // Written into every other row of a wider buffer: out rows one stride apart.
            Shape wide = shape;
            wide.back() *= 2;
            Tensor out = full(wide, 7.0, TensorOptions(in[0].dtype())).narrow(-1, 0, shape.back());
            linear_out(in[0], in[1], in[2], out);
            return out;
          },
          .samples = linear_samples,
          .reference = [](Inputs in) { return ref_linear(in[0], in[1], in[2]); },
          .differentiable = false,
          .refuses_grad = true,
          .errors = {{"linear_out: input that requires grad",
                      [] { Tensor w = zeros({4, 3}).requires_grad_(); linear_out(zeros({2, 3}), w, Tensor(), zeros({2, 4})); },
                      {"linear_out", "requires grad", "NoGradGuard"}},
                     {"linear_out: out of the wrong shape", [] { linear_out(zeros({2, 3}), zeros({4, 3}), Tensor(), zeros({2, 5})); },
                      {"linear_out", "[2, 3]", "last dim 4", "[2, 5]"}},
                     {"linear_out: undefined out", [] { linear_out(zeros({2, 3}), zeros({4, 3}), Tensor(), Tensor()); },
                      {"linear_out", "out must be"}},
                     {"linear_out: transposed out", [] { linear_out(zeros({2, 3}), zeros({2, 3}), Tensor(), zeros({2, 2}).t()); },
                      {"linear_out", "[2, 2]", "unit last-dim stride"}},
                     {"linear_out: out overlapping x", [] { Tensor x = zeros({2, 3}); linear_out(x, zeros({3, 3}), Tensor(), x); },
                      {"linear_out", "overlaps"}}}};
}

EMBER_OP(softmax_attention_step) {
  return {.name = "softmax_attention_step",
          .op = [](Inputs in) {
            Tensor keys = in[3].clone(), values = in[4].clone(), out = empty(in[2].shape(), TensorOptions(in[0].dtype()));
            softmax_attention_step(in[0], in[1], in[2], keys, values, in[5].item<std::int64_t>(), out);
            return concat({out, keys, values});
          },
          .samples = [] {
            return std::vector<Sample>{
                {"B 2, H 2, first position", {s::normal({2, 2, 3}), s::normal({2, 2, 3}), s::normal({2, 2, 4}),
                                              s::normal({2, 2, 5, 3}), s::normal({2, 2, 5, 4}), i64({0}).reshape({})}},
                {"position 2100: three key blocks of 1024", {s::normal({1, 2, 4}), s::normal({1, 2, 4}), s::normal({1, 2, 2}),
                                                              s::normal({1, 2, 2110, 4}), s::normal({1, 2, 2110, 2}),
                                                              i64({2100}).reshape({})}},
                {"heads of a projected row (strided)",
                 {s::normal({2, 3, 2, 4}).select(1, 0), s::normal({2, 3, 2, 4}).select(1, 1), s::normal({2, 3, 2, 4}).select(1, 2),
                  s::normal({2, 2, 8, 4}), s::normal({2, 2, 8, 4}), i64({6}).reshape({})}},
                {"empty batch", {s::normal({0, 2, 3}), s::normal({0, 2, 3}), s::normal({0, 2, 3}), s::normal({0, 2, 4, 3}),
                                 s::normal({0, 2, 4, 3}), i64({1}).reshape({})}}};
          },
          .reference = ref_softmax_step,
          .differentiable = false,
          .refuses_grad = true,
          .errors = {{"softmax_attention_step: undefined cache",
                      [] { Tensor t = zeros({1, 1, 2}); softmax_attention_step(t, t, t, Tensor(), zeros({1, 1, 4, 2}), 0, zeros({1, 1, 2})); },
                      {"softmax_attention_step", "undefined"}},
                     {"softmax_attention_step: 4-d query",
                      [] { Tensor t = zeros({1, 1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(t, t, t, c, c, 0, t); },
                      {"softmax_attention_step", "(B, H, D)", "[1, 1, 1, 2]"}},
                     {"softmax_attention_step: float64 out",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(t, t, t, c, c, 0, zeros({1, 1, 2}, kFloat64)); },
                      {"softmax_attention_step", "float32", "float64"}},
                     {"softmax_attention_step: int64 inputs",
                      [] { Tensor t = zeros({1, 1, 2}, kInt64), c = zeros({1, 1, 4, 2}, kInt64); softmax_attention_step(t, t, t, c, c, 0, t.clone()); },
                      {"softmax_attention_step", "int64"}},
                     {"softmax_attention_step: step-2 query",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(zeros({1, 1, 4}).slice(2, 0, 4, 2), t, t, c, c, 0, zeros({1, 1, 2})); },
                      {"softmax_attention_step", "unit last-dim stride"}},
                     {"softmax_attention_step: query that requires grad",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(zeros({1, 1, 2}).requires_grad_(), t, t, c, c, 0, zeros({1, 1, 2})); },
                      {"softmax_attention_step", "inference only", "NoGradGuard"}},
                     {"softmax_attention_step: out is the query",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(t, zeros({1, 1, 2}), zeros({1, 1, 2}), c, c, 0, t); },
                      {"softmax_attention_step", "overlaps"}},
                     {"softmax_attention_step: keys of another head size",
                      [] { Tensor t = zeros({1, 1, 2}); softmax_attention_step(t, t, t, zeros({1, 1, 4, 3}), zeros({1, 1, 4, 2}), 0, zeros({1, 1, 2})); },
                      {"softmax_attention_step", "[1, 1, 4, 3]", "(B, H, capacity, D)"}},
                     {"softmax_attention_step: full cache",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(t, t, t, c, c.clone(), 4, zeros({1, 1, 2})); },
                      {"softmax_attention_step", "position 4", "capacity 4"}},
                     {"softmax_attention_step: mixed devices",
                      [] { Tensor t = zeros({1, 1, 2}), c = zeros({1, 1, 4, 2}); softmax_attention_step(t, t, t, c, c, 0, zeros({1, 1, 2}, kCUDA)); },
                      {"softmax_attention_step", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-12};
}

EMBER_OP(linear_attention_step) {
  return {.name = "linear_attention_step",
          .op = [](Inputs in) {
            std::vector<Tensor> parts;
            for (StepFeatureMap phi : kMaps) {
              Tensor state = in[3].clone(), normalizer = in[4].clone(), out = empty(in[2].shape(), TensorOptions(in[0].dtype()));
              linear_attention_step(in[0], in[1], in[2], state, normalizer, out, phi, 0.5);
              parts.insert(parts.end(), {out, state, normalizer});
            }
            return concat(parts);
          },
          .samples = [] {
            // Positive state, normaliser and (for the identity map) features, as a running sum of features makes them.
            const auto positive = s::positive();
            return std::vector<Sample>{
                {"B 2, H 2, D 3, M 4", {positive({2, 2, 3}), s::normal({2, 2, 3}), s::normal({2, 2, 4}), positive({2, 2, 3, 4}),
                                        positive({2, 2, 3, 1})}},
                {"heads of a projected row (strided)",
                 {positive({1, 3, 2, 4}).select(1, 0), positive({1, 3, 2, 4}).select(1, 1), s::normal({1, 3, 2, 4}).select(1, 2),
                  positive({1, 2, 4, 4}), positive({1, 2, 4, 1})}},
                {"empty batch", {positive({0, 2, 3}), positive({0, 2, 3}), s::normal({0, 2, 2}), positive({0, 2, 3, 2}),
                                 positive({0, 2, 3, 1})}}};
          },
          .reference = [](Inputs in) {
            std::vector<Tensor> parts;
            for (StepFeatureMap phi : kMaps) parts.push_back(ref_linear_step(in, phi, 0.5));
            return concat(parts);
          },
          .differentiable = false,
          .refuses_grad = true,
          .errors = {{"linear_attention_step: state of the wrong shape",
                      [] { Tensor t = zeros({1, 2, 3}); linear_attention_step(t, t, t, zeros({1, 2, 3, 4}), zeros({1, 2, 3, 1}), zeros({1, 2, 3}), StepFeatureMap::Relu); },
                      {"linear_attention_step", "[1, 2, 3, 3]", "[1, 2, 3, 4]"}},
                     {"linear_attention_step: negative eps",
                      [] { Tensor t = zeros({1, 2, 3}); linear_attention_step(t, t, t, zeros({1, 2, 3, 3}), zeros({1, 2, 3, 1}), zeros({1, 2, 3}), StepFeatureMap::Relu, -1.0); },
                      {"linear_attention_step", "eps", "-1"}}},
          .tolerance = 1e-12};
}
