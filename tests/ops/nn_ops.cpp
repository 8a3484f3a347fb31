// Op table rows of softmax, layer_norm, embedding, cross_entropy (ops/softmax.h, layer_norm.h,
// embedding.h, loss.h).
#include <cmath>

#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;
using ref::Index;

namespace {

// Softmax over the last dim of row-major values, rows of length n.
std::vector<double> softmax_rows(std::vector<double> v, std::int64_t n, bool log_space) {
  for (std::size_t r = 0; n > 0 && r < v.size() / n; ++r) {
    double* row = v.data() + r * n;
    double m = row[0], z = 0;
    for (std::int64_t j = 0; j < n; ++j) m = std::max(m, row[j]);
    for (std::int64_t j = 0; j < n; ++j) z += std::exp(row[j] - m);
    for (std::int64_t j = 0; j < n; ++j) row[j] = log_space ? row[j] - m - std::log(z) : std::exp(row[j] - m) / z;
  }
  return v;
}

// Softmax along `dim` of x: moves dim last, applies the rows, moves it back.
Tensor ref_softmax(const Tensor& x, std::int64_t dim, bool log_space) {
  const std::int64_t rank = x.dim();
  if (dim < 0) dim += rank;
  Shape order, moved_shape;
  for (std::int64_t d = 0; d < rank; ++d)
    if (d != dim) order.push_back(d);
  order.push_back(dim);
  for (std::int64_t d : order) moved_shape.push_back(x.size(d));
  const Tensor moved = ref::gather(x, moved_shape, [&](const Index& o) {
    Index i(rank);
    for (std::int64_t k = 0; k < rank; ++k) i[order[k]] = o[k];
    return i;
  });
  const Tensor done = ref::make(softmax_rows(moved.to_vector<double>(), x.size(dim), log_space), moved_shape);
  return ref::gather(done, x.shape(), [&](const Index& o) {
    Index i(rank);
    for (std::int64_t k = 0; k < rank; ++k) i[k] = o[order[k]];
    return i;
  });
}

// Softmax samples: rows along the last dim and along dim 0, transposed, long rows, empty.
std::vector<Sample> softmax_samples() {
  return {{"(3, 5)", {s::normal({3, 5})}},
          {"transposed (3, 5)", {s::transposed(3, 5)}},
          {"large values (2, 4)", {s::normal({2, 4}) * 30.0 + 1000.0}, {}, false},
          {"empty (0, 7)", {s::normal({0, 7})}}};
}

// Layer norm over the trailing `n` elements, with optional affine parameters.
Tensor ref_layer_norm(const Tensor& x, std::int64_t n, const Tensor& w, const Tensor& b, double eps) {
  std::vector<double> v = x.to_vector<double>();
  const std::vector<double> wv = w.defined() ? w.to_vector<double>() : std::vector<double>(n, 1.0);
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(n, 0.0);
  for (std::size_t r = 0; r < v.size() / n; ++r) {
    double* row = v.data() + r * n;
    double mean = 0, var = 0;
    for (std::int64_t j = 0; j < n; ++j) mean += row[j] / n;
    for (std::int64_t j = 0; j < n; ++j) var += (row[j] - mean) * (row[j] - mean) / n;
    for (std::int64_t j = 0; j < n; ++j) row[j] = (row[j] - mean) / std::sqrt(var + eps) * wv[j] + bv[j];
  }
  return ref::make(v, x.shape());
}

// Mean over non-ignored rows of (1 - s) (-log p_target) + s mean_c (-log p_c).
Tensor ref_cross_entropy(const Tensor& logits, const Tensor& targets, std::int64_t ignore, double smoothing) {
  const std::int64_t C = logits.size(-1);
  const std::vector<double> lp = softmax_rows(logits.to_vector<double>(), C, true);
  const std::vector<std::int64_t> t = targets.to_vector<std::int64_t>();
  double total = 0;
  std::int64_t counted = 0;
  for (std::size_t r = 0; r < t.size(); ++r) {
    if (t[r] == ignore) continue;
    double uniform = 0;
    for (std::int64_t c = 0; c < C; ++c) uniform -= lp[r * C + c] / C;
    total += (1 - smoothing) * -lp[r * C + t[r]] + smoothing * uniform;
    ++counted;
  }
  return ref::make({counted ? total / counted : std::nan("")}, {});
}

}  // namespace

EMBER_OP(softmax) {
  return {.name = "softmax",
          .op = [](Inputs in) { return cat({softmax(in[0], -1).reshape({-1}), softmax(in[0], 0).reshape({-1})}); },
          .samples = softmax_samples,
          .reference = [](Inputs in) {
            return ref::make([&] {
              auto a = ref_softmax(in[0], -1, false).to_vector<double>(), b = ref_softmax(in[0], 0, false).to_vector<double>();
              a.insert(a.end(), b.begin(), b.end());
              return a;
            }(), {2 * in[0].numel()});
          },
          .errors = {{"softmax: int64 tensor", [] { softmax(zeros({2}, kInt64)); }, {"softmax", "int64", "[2]"}},
                    {"softmax: undefined tensor", [] { softmax(Tensor()); }, {"softmax", "undefined"}}}};
}
EMBER_OP(log_softmax) {
  return {.name = "log_softmax",
          .op = [](Inputs in) { return log_softmax(in[0], 1); },
          .samples = softmax_samples,
          .reference = [](Inputs in) { return ref_softmax(in[0], 1, true); },
          .errors = {{"log_softmax: dim out of range", [] { log_softmax(zeros({2, 3}), 2); }, {"log_softmax", "dim 2"}}}};
}
EMBER_OP(layer_norm) {
  return {.name = "layer_norm",
          .op = [](Inputs in) { return layer_norm(in[0], {4}, in[1], in[2], 1e-5); },
          .samples = [] {
            return std::vector<Sample>{
                {"affine (2, 3, 4)", {s::normal({2, 3, 4}), s::normal({4}), s::normal({4})}},
                {"transposed input, strided weight", {s::transposed(3, 4), s::strided({4}), s::normal({4})}},
                {"bias only", {s::normal({3, 4}), Tensor(), s::normal({4})}},
                {"plain", {s::normal({5, 4}), Tensor(), Tensor()}},
                {"empty batch", {s::normal({0, 4}), s::normal({4}), s::normal({4})}}};
          },
          .reference = [](Inputs in) { return ref_layer_norm(in[0], 4, in[1], in[2], 1e-5); },
          .errors = {{"layer_norm: undefined input", [] { layer_norm(Tensor(), {2}); }, {"layer_norm", "undefined"}},
                    {"layer_norm: normalized_shape not trailing", [] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "[4]", "[2, 3]"}},
                    {"layer_norm: empty normalized_shape", [] { layer_norm(zeros({2, 3}), {}); }, {"layer_norm", "[]", "[2, 3]"}},
                    {"layer_norm: weight of the wrong shape", [] { layer_norm(zeros({2, 3}), {3}, ones({2})); }, {"layer_norm", "[2]", "[3]"}},
                    {"layer_norm: weight of another dtype",
                [] { layer_norm(zeros({2, 3}), {3}, ones({3}, kFloat64)); },
                {"layer_norm", "float64", "float32"}},
                    {"layer_norm: int64 input", [] { layer_norm(zeros({2, 3}, kInt64), {3}); }, {"layer_norm", "int64", "[2, 3]"}},
                    {"layer_norm: zero-size normalized dim", [] { layer_norm(zeros({2, 0}), {0}); }, {"layer_norm", "empty", "[0]"}},
                    {"layer_norm: weight on another device",
                [] { layer_norm(zeros({2, 2}), {2}, ones({2}, kCUDA)); },
                {"layer_norm", "cuda:0", "cpu"}, Needs::Cuda}},
          .tolerance = 1e-10};
}
EMBER_OP(embedding) {
  return {.name = "embedding",
          .op = [](Inputs in) { return embedding(in[0], in[1]) * 1.5; },
          .samples = [] {
            return std::vector<Sample>{
                {"(2, 3) indices with repeats", {s::normal({5, 3}), from_vector<std::int64_t>({0, 2, 2, 4, 1, 0}, {2, 3})}},
                {"transposed weight, strided indices", {s::transposed(6, 4), s::indices({3, 8}, 6).slice(1, 0, 8, 2)}},
                {"no indices", {s::normal({5, 3}), s::indices({0}, 5)}}};
          },
          .reference = [](Inputs in) {
            const std::vector<std::int64_t> idx = in[1].to_vector<std::int64_t>();
            Shape shape = in[1].shape();
            shape.push_back(in[0].size(1));
            const Tensor rows = ref::gather(in[0], shape, [&](const Index& o) {
              const Index at(o.begin(), o.end() - 1);
              return Index{idx[ref::ravel(at, in[1].shape())], o.back()};
            });
            return ref::map(rows, [](double v) { return 1.5 * v; });
          },
          .errors = {{"embedding: undefined indices", [] { embedding(zeros({5, 2}), Tensor()); }, {"embedding", "undefined"}},
                    {"embedding: index past the table",
                [] { embedding(zeros({5, 2}), i64({0, 5})); },
                {"embedding", "out of range", "[0, 5)", "[2]"}},
                    {"embedding: negative index", [] { embedding(zeros({5, 2}), i64({-1, 2})); }, {"embedding", "out of range", "[-1, 2]"}},
                    {"embedding: float indices", [] { embedding(zeros({5, 2}), zeros({2})); }, {"embedding", "int64", "float32", "[2]"}},
                    {"embedding: 1-d weight", [] { embedding(zeros({5}), i64({0})); }, {"embedding", "(V, D)", "[5]"}},
                    {"embedding: int64 weight", [] { embedding(zeros({5, 2}, kInt64), i64({0})); }, {"embedding", "floating", "int64"}},
                    {"embedding: mixed devices",
                [] { embedding(zeros({5, 2}), zeros({2}, TensorOptions(kInt64, kCUDA))); },
                {"embedding", "cuda:0", "cpu"}, Needs::Cuda}}};
}
EMBER_OP(cross_entropy) {
  return {.name = "cross_entropy",
          .op = [](Inputs in) { return cross_entropy(in[0], in[1], {.ignore_index = 2, .label_smoothing = 0.1}); },
          .samples = [] {
            return std::vector<Sample>{
                {"(2, 3, 4) logits", {s::normal({2, 3, 4}), from_vector<std::int64_t>({0, 3, 1, 2, 3, 0}, {2, 3})}},
                {"transposed logits", {s::transposed(4, 4), from_vector<std::int64_t>({0, 2, 1, 3})}},
                {"no rows", {s::normal({0, 4}), s::indices({0}, 4)}}};
          },
          .reference = [](Inputs in) { return ref_cross_entropy(in[0], in[1], 2, 0.1); },
          .errors = {{"cross_entropy: undefined logits", [] { cross_entropy(Tensor(), i64({0})); }, {"cross_entropy", "undefined"}},
                    {"cross_entropy: target past the classes",
                [] { cross_entropy(zeros({2, 3}), i64({0, 3})); },
                {"cross_entropy", "out of range", "[0, 3)"}},
                    {"cross_entropy: targets of the wrong shape",
                [] { cross_entropy(zeros({2, 3}), i64({0, 1, 2})); },
                {"cross_entropy", "[2, 3]", "[3]"}},
                    {"cross_entropy: float targets",
                [] { cross_entropy(zeros({2, 3}), zeros({2})); },
                {"cross_entropy", "int64", "float32", "[2]"}},
                    {"cross_entropy: 0-d logits", [] { cross_entropy(zeros({}), i64({0}).reshape({})); }, {"cross_entropy", "(..., C)", "[]"}},
                    {"cross_entropy: label smoothing above 1",
                [] { cross_entropy(zeros({2, 3}), i64({0, 1}), {.label_smoothing = 1.5}); },
                {"cross_entropy", "label_smoothing", "1.5"}},
                    {"cross_entropy: mixed devices",
                [] { cross_entropy(zeros({2, 3}, kCUDA), i64({0, 1})); },
                {"cross_entropy", "cuda:0", "cpu"}, Needs::Cuda}},
          .tolerance = 1e-11};
}
