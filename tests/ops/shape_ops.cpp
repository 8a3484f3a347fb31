// Op table rows of the ops that build tensors from pieces (ops/shape_ops.h).
#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;
using ref::Index;

namespace {

// Concatenation along `dim` written out: element o comes from the operand whose range holds o[dim].
Tensor ref_cat(const std::vector<Tensor>& parts, std::int64_t dim) {
  Shape shape = parts[0].shape();
  shape[dim] = 0;
  for (const Tensor& p : parts) shape[dim] += p.size(dim);
  std::vector<double> out(ref::count(shape));
  for (std::int64_t i = 0; i < ref::count(shape); ++i) {
    Index index = ref::unravel(i, shape);
    for (const Tensor& p : parts) {
      if (index[dim] < p.size(dim)) {
        out[i] = p.to_vector<double>()[ref::ravel(index, p.shape())];
        break;
      }
      index[dim] -= p.size(dim);
    }
  }
  return ref::make(out, shape);
}

// Pieces along dim 1 scaled by 1, 2, 3 ...: a wrong boundary between pieces changes the result.
Tensor scaled_pieces(const std::vector<Tensor>& pieces) {
  std::vector<Tensor> scaled;
  for (std::size_t k = 0; k < pieces.size(); ++k) scaled.push_back(pieces[k] * static_cast<double>(k + 1));
  return cat(scaled, 1);
}
Tensor ref_scaled_pieces(const Tensor& x, const std::vector<std::int64_t>& widths) {
  std::vector<double> v = x.to_vector<double>();
  for (std::int64_t i = 0; i < ref::count(x.shape()); ++i) {
    std::int64_t column = ref::unravel(i, x.shape())[1], piece = 0;
    while (column >= widths[piece]) column -= widths[piece++];
    v[i] *= static_cast<double>(piece + 1);
  }
  return ref::make(v, x.shape());
}

Tensor ref_band(const Tensor& x, std::int64_t k, bool lower) {
  std::vector<double> v = x.to_vector<double>();
  const auto rank = x.dim();
  for (std::int64_t i = 0; i < ref::count(x.shape()); ++i) {
    const Index index = ref::unravel(i, x.shape());
    const std::int64_t row = index[rank - 2], col = index[rank - 1];
    if (lower ? col - row > k : col - row < k) v[i] = 0;
  }
  return ref::make(v, x.shape());
}

std::vector<Sample> matrices() {
  return {{"(2, 3, 3)", {s::normal({2, 3, 3})}},
          {"transposed (3, 4)", {s::transposed(3, 4)}},
          {"strided (4, 3)", {s::strided({4, 3})}},
          {"empty (0, 3, 3)", {s::normal({0, 3, 3})}}};
}

}  // namespace

EMBER_OP(cat) {
  return {.name = "cat",
          .op = [](Inputs in) { return cat({in[0], in[1], in[0]}, 1); },
          .samples = [] {
            return std::vector<Sample>{{"(2, 3) and (2, 2)", {s::normal({2, 3}), s::normal({2, 2})}},
                                       {"transposed second", {s::normal({2, 3}), s::transposed(2, 2)}},
                                       {"an empty piece", {s::normal({2, 0}), s::strided({2, 2})}}};
          },
          .reference = [](Inputs in) { return ref_cat({in[0], in[1], in[0]}, 1); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"cat: sizes past int64", [] { Tensor big = zeros({1}).expand({kMax / 2 + 1}); cat({big, big}); }, {"cat", "past int64"}},
                    {"cat: shapes differ outside the dim",
                [] { cat({zeros({2, 3}), zeros({2, 4})}, 0); },
                {"cat", "[2, 3]", "[2, 4]", "outside dim 0"}},
                    {"cat: dtype mismatch", [] { cat({zeros({2}), zeros({2}, kFloat64)}); }, {"cat", "tensor 1", "float64", "float32"}},
                    {"cat: different ranks", [] { cat({zeros({2}), zeros({2, 1})}); }, {"cat", "tensor 1", "[2, 1]"}},
                    {"cat: empty list", [] { cat({}); }, {"cat", "non-empty"}},
                    {"cat: dim out of range", [] { cat({zeros({2})}, 1); }, {"cat", "dim 1"}},
                    {"cat: undefined element", [] { cat({zeros({2}), Tensor()}); }, {"cat", "tensor 1", "undefined"}},
                    {"cat: mixed devices", [] { cat({zeros({2}), cuda2()}); }, {"cat", "tensor 1", "cuda:0"}, Needs::Cuda}}};
}
EMBER_OP(stack) {
  return {.name = "stack",
          .op = [](Inputs in) { return stack({in[0], in[1]}, 1); },
          .samples = [] {
            return std::vector<Sample>{{"(2, 3) twice", {s::normal({2, 3}), s::normal({2, 3})}},
                                       {"transposed second", {s::normal({2, 3}), s::transposed(2, 3)}},
                                       {"empty", {s::normal({0, 3}), s::normal({0, 3})}}};
          },
          .reference = [](Inputs in) {
            return ref::gather(ref_cat({in[0], in[1]}, 0), {in[0].size(0), 2, in[0].size(1)},
                               [&](const Index& o) { return Index{o[1] * in[0].size(0) + o[0], o[2]}; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"stack: undefined element", [] { stack({zeros({2}), Tensor()}); }, {"stack", "tensor 1", "undefined"}},
                    {"stack: shapes differ", [] { stack({zeros({2}), zeros({3})}); }, {"stack", "tensor 1", "[3]", "[2]"}},
                    {"stack: empty list", [] { stack({}); }, {"stack", "non-empty"}}}};
}
EMBER_OP(split) {
  return {.name = "split",
          .op = [](Inputs in) { return scaled_pieces(split(in[0], 2, 1)); },  // widths 2, 2, 1
          .samples = [] {
            return std::vector<Sample>{{"(3, 5)", {s::normal({3, 5})}}, {"transposed (3, 5)", {s::transposed(3, 5)}},
                                       {"empty rows", {s::normal({0, 5})}}};
          },
          .reference = [](Inputs in) { return ref_scaled_pieces(in[0], {2, 2, 1}); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"split: undefined tensor", [] { split(Tensor(), 1); }, {"split", "undefined"}},
                    {"split: zero split size", [] { split(zeros({3}), 0); }, {"split", "split_size", "0"}}}};
}
EMBER_OP(chunk) {
  return {.name = "chunk",
          .op = [](Inputs in) { return scaled_pieces(chunk(in[0], 3, 1)); },  // 7 columns: 3, 3, 1
          .samples = [] {
            return std::vector<Sample>{{"(2, 7)", {s::normal({2, 7})}}, {"strided (2, 7)", {s::strided({2, 7})}},
                                       {"empty rows", {s::normal({0, 7})}}};
          },
          .reference = [](Inputs in) { return ref_scaled_pieces(in[0], {3, 3, 1}); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"chunk: undefined tensor", [] { chunk(Tensor(), 1); }, {"chunk", "undefined"}},
                    {"chunk: zero chunks", [] { chunk(zeros({3}), 0); }, {"chunk", "chunks", "0"}},
                    {"chunk: dim out of range", [] { chunk(zeros({3}), 2, 1); }, {"chunk", "dim 1"}}}};
}
EMBER_OP(tril) {
  return {.name = "tril",
          .op = [](Inputs in) { return tril(in[0]) + tril(in[0], -1) * 2.0; },
          .samples = matrices,
          .reference = [](Inputs in) {
            return ref::zip(ref_band(in[0], 0, true), ref_band(in[0], -1, true), [](double a, double b) { return a + 2 * b; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"tril: 1-d tensor", [] { tril(zeros({3})); }, {"tril", "at least 2 dims", "[3]"}}}};
}
EMBER_OP(triu) {
  return {.name = "triu",
          .op = [](Inputs in) { return triu(in[0], 1) + triu(in[0]) * 3.0; },
          .samples = matrices,
          .reference = [](Inputs in) {
            return ref::zip(ref_band(in[0], 1, false), ref_band(in[0], 0, false), [](double a, double b) { return a + 3 * b; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"triu: undefined tensor", [] { triu(Tensor()); }, {"triu", "undefined"}}}};
}
