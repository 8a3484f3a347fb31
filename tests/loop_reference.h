// Plain-loop references for the nn tests. Every formula here is written out element by element over
// std::vector<double>, sharing no code with Ember's ops: a module checked against these is checked
// against arithmetic, not against the ops it is built from. Parameters are read from the module's
// own state_dict() by their dotted names, so a reference uses exactly the weights the module holds.
//
// Shapes follow the code: a Matrix is (rows, cols), row-major; x (N, d) is one sequence of N
// positions; W (out, in) as nn::Linear stores it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "helpers.h"

namespace ember::testing::loops {

struct Matrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<double> v;

  Matrix() = default;
  Matrix(std::int64_t r, std::int64_t c, double fill = 0.0)
      : rows(r), cols(c), v(static_cast<std::size_t>(r * c), fill) {}
  double& operator()(std::int64_t r, std::int64_t c) { return v[static_cast<std::size_t>(r * cols + c)]; }
  double operator()(std::int64_t r, std::int64_t c) const { return v[static_cast<std::size_t>(r * cols + c)]; }
};

// A tensor's values viewed as (numel / size(-1), size(-1)); a 1-d tensor is one row.
inline Matrix matrix_of(const Tensor& t) {
  REQUIRE(t.dim() >= 1);
  Matrix m;
  m.cols = t.size(-1);
  m.v = t.to_vector<double>();
  m.rows = m.cols == 0 ? 0 : static_cast<std::int64_t>(m.v.size()) / m.cols;
  return m;
}

// The tensor `name` of module `m` (a parameter or a buffer), read through state_dict().
inline Tensor state_of(const nn::Module& m, const std::string& name) {
  const nn::StateDict state = m.state_dict();
  auto it = state.find(name);
  INFO("looking for " << name);
  REQUIRE(it != state.end());
  return it->second;
}

inline bool has_state(const nn::Module& m, const std::string& name) { return m.state_dict().count(name) == 1; }

// (n, k) @ (k, m).
inline Matrix matmul(const Matrix& a, const Matrix& b) {
  REQUIRE(a.cols == b.rows);
  Matrix out(a.rows, b.cols);
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.cols; ++j) {
      double acc = 0;
      for (std::int64_t k = 0; k < a.cols; ++k) acc += a(i, k) * b(k, j);
      out(i, j) = acc;
    }
  return out;
}

inline Matrix add(const Matrix& a, const Matrix& b) {
  REQUIRE(a.rows == b.rows);
  REQUIRE(a.cols == b.cols);
  Matrix out = a;
  for (std::size_t i = 0; i < out.v.size(); ++i) out.v[i] += b.v[i];
  return out;
}

inline Matrix map(const Matrix& a, const std::function<double(double)>& f) {
  Matrix out = a;
  for (double& value : out.v) value = f(value);
  return out;
}

// y = x W^T + b: x (N, in), W (out, in), b (out) or empty.
inline Matrix linear(const Matrix& x, const Matrix& w, const std::vector<double>& b) {
  REQUIRE(x.cols == w.cols);
  Matrix y(x.rows, w.rows);
  for (std::int64_t n = 0; n < x.rows; ++n)
    for (std::int64_t o = 0; o < w.rows; ++o) {
      double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < x.cols; ++i) acc += x(n, i) * w(o, i);
      y(n, o) = acc;
    }
  return y;
}

// The nn::Linear registered under `prefix` ("" for the module itself, "ffn.fc1." for a child).
inline Matrix linear(const nn::Module& m, const std::string& prefix, const Matrix& x) {
  std::vector<double> bias;
  if (has_state(m, prefix + "bias")) bias = state_of(m, prefix + "bias").to_vector<double>();
  return linear(x, matrix_of(state_of(m, prefix + "weight")), bias);
}

// Each row normalised by its mean and population variance, then scaled and shifted.
inline Matrix layer_norm(const Matrix& x, const std::vector<double>& w, const std::vector<double>& b, double eps) {
  Matrix y(x.rows, x.cols);
  for (std::int64_t n = 0; n < x.rows; ++n) {
    double mean = 0, var = 0;
    for (std::int64_t c = 0; c < x.cols; ++c) mean += x(n, c);
    mean /= static_cast<double>(x.cols);
    for (std::int64_t c = 0; c < x.cols; ++c) var += (x(n, c) - mean) * (x(n, c) - mean);
    var /= static_cast<double>(x.cols);
    for (std::int64_t c = 0; c < x.cols; ++c)
      y(n, c) = (x(n, c) - mean) / std::sqrt(var + eps) * w[static_cast<std::size_t>(c)] +
                b[static_cast<std::size_t>(c)];
  }
  return y;
}

inline Matrix layer_norm(const nn::Module& m, const std::string& prefix, const Matrix& x, double eps = 1e-5) {
  return layer_norm(x, state_of(m, prefix + "weight").to_vector<double>(),
                    state_of(m, prefix + "bias").to_vector<double>(), eps);
}

inline double relu(double x) { return x > 0 ? x : 0.0; }
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }  // x Phi(x), exact
inline double elu_plus_one(double x) { return x > 0 ? x + 1.0 : std::exp(x); }

// fc2(act(fc1(x))), dropout off.
inline Matrix feed_forward(const nn::Module& m, const std::string& prefix, const Matrix& x, nn::Activation act) {
  Matrix h = linear(m, prefix + "fc1.", x);
  h = map(h, act == nn::Activation::GELU ? gelu : relu);
  return linear(m, prefix + "fc2.", h);
}

struct AttentionSpec {
  std::int64_t heads = 1;
  nn::AttentionKind kind = nn::AttentionKind::Softmax;
  bool causal = false;
  std::function<double(double)> phi = elu_plus_one;  // linear kind: the feature map, elementwise
  double eps = 1e-6;                                 // linear kind: added to the normaliser
};

// nn::MultiHeadAttention under `prefix` for one sequence: query (Nq, d), key = value (Nk, d); keys at
// positions >= valid_keys are padding. Head h reads columns [h Dh, (h + 1) Dh) of the projections.
//   softmax: w_ij = exp(q_i . k_j / sqrt(Dh)), normalised over the allowed j;
//   linear:  w_ij = phi(q_i) . phi(k_j), normalised by (sum_j w_ij + eps).
inline Matrix attention(const nn::Module& m, const std::string& prefix, const Matrix& query, const Matrix& key_value,
                        const AttentionSpec& spec, std::int64_t valid_keys = -1) {
  const Matrix Q = linear(m, prefix + "q.", query), K = linear(m, prefix + "k.", key_value),
               V = linear(m, prefix + "v.", key_value);
  const std::int64_t Nq = Q.rows, Nk = K.rows, d = Q.cols, Dh = d / spec.heads;
  if (valid_keys < 0) valid_keys = Nk;
  Matrix heads(Nq, d);
  for (std::int64_t h = 0; h < spec.heads; ++h) {
    const std::int64_t c0 = h * Dh;
    for (std::int64_t i = 0; i < Nq; ++i) {
      std::vector<double> w(static_cast<std::size_t>(Nk), 0.0);
      double largest = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < Nk; ++j) {
        if (j >= valid_keys || (spec.causal && j > i)) continue;
        double s = 0;
        for (std::int64_t c = c0; c < c0 + Dh; ++c)
          s += spec.kind == nn::AttentionKind::Softmax ? Q(i, c) * K(j, c) : spec.phi(Q(i, c)) * spec.phi(K(j, c));
        if (spec.kind == nn::AttentionKind::Softmax) {
          s /= std::sqrt(static_cast<double>(Dh));
          largest = std::max(largest, s);
        }
        w[static_cast<std::size_t>(j)] = s;
      }
      double total = 0;
      for (std::int64_t j = 0; j < Nk; ++j) {
        if (j >= valid_keys || (spec.causal && j > i)) continue;
        double& wj = w[static_cast<std::size_t>(j)];
        if (spec.kind == nn::AttentionKind::Softmax) wj = std::exp(wj - largest);
        total += wj;
      }
      if (spec.kind == nn::AttentionKind::Linear) total += spec.eps;
      for (std::int64_t c = c0; c < c0 + Dh; ++c) {
        double acc = 0;
        for (std::int64_t j = 0; j < Nk; ++j) acc += w[static_cast<std::size_t>(j)] * V(j, c);
        heads(i, c) = acc / total;
      }
    }
  }
  return linear(m, prefix + "out.", heads);
}

// Appends a matrix's values (one batch element's output) to a flat expected vector.
inline void append(std::vector<double>& flat, const Matrix& m) { flat.insert(flat.end(), m.v.begin(), m.v.end()); }

// Index of the largest value in values[begin, begin + n) (the first one on a tie).
inline std::int64_t argmax(const std::vector<double>& values, std::size_t begin, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (values[begin + i] > values[begin + best]) best = i;
  return static_cast<std::int64_t>(best);
}

}  // namespace ember::testing::loops
