// Op table rows of the reductions (ops/reduce.h) and matmul (ops/matmul.h).
#include <cmath>
#include <limits>

#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;

namespace {

// (2, 3, 4) in four layouts, and an empty one of the given shape.
std::vector<Sample> three_dim(Shape empty_shape = {0, 3, 4}) {
  return {{"(2, 3, 4)", {s::normal({2, 3, 4})}},
          {"permuted layout", {s::normal({4, 2, 3}).permute({1, 2, 0})}},
          {"step-2 slice", {s::strided({2, 3, 4})}},
          {"empty", {s::normal(empty_shape)}}};
}

double add(double a, double b) { return a + b; }
double keep(double a, std::int64_t) { return a; }
Tensor flat(const Tensor& t) { return t.reshape({-1}); }

Tensor ref_sum(const Tensor& x, Shape dims, bool keepdim = false) { return ref::reduce(x, dims, keepdim, 0.0, add, keep); }
Tensor ref_mean(const Tensor& x, Shape dims, bool keepdim = false) {
  return ref::reduce(x, dims, keepdim, 0.0, add, [](double a, std::int64_t n) { return a / n; });
}
Tensor ref_max(const Tensor& x, Shape dims, bool keepdim = false) {
  return ref::reduce(x, dims, keepdim, -std::numeric_limits<double>::infinity(),
                     [](double a, double b) { return std::max(a, b); }, keep);
}

// Variance over dims: mean of squared deviations, divided by n - correction.
Tensor ref_var(const Tensor& x, Shape dims, std::int64_t correction, bool keepdim) {
  const Tensor m = ref_mean(x, dims, true);
  const Tensor sq = ref::zip(x, m, [](double a, double b) { return (a - b) * (a - b); });
  const double n = static_cast<double>(ref::count(x.shape()) / std::max<std::int64_t>(ref::count(m.shape()), 1));
  return ref::map(ref_sum(sq, dims, keepdim), [=](double v) { return v / (n - correction); });
}

// Index of the first largest value along `dim`.
Tensor ref_argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  const Shape& shape = x.shape();
  Shape out_shape;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<std::int64_t>(d) != dim) out_shape.push_back(shape[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> best(ref::count(out_shape), -1), best_value(ref::count(out_shape), 0);
  for (std::int64_t i = 0; i < ref::count(shape); ++i) {
    ref::Index index = ref::unravel(i, shape);
    const std::int64_t position = index[dim];
    if (keepdim) index[dim] = 0;
    else index.erase(index.begin() + dim);
    const std::int64_t o = ref::ravel(index, out_shape);
    if (best[o] < 0 || v[i] > best_value[o]) {
      best[o] = static_cast<double>(position);
      best_value[o] = v[i];
    }
  }
  return ref::make(best, out_shape);
}

Tensor ref_cat_flat(const std::vector<Tensor>& parts) {
  std::vector<double> all;
  for (const Tensor& p : parts) {
    auto v = p.to_vector<double>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return ref::make(all, {static_cast<std::int64_t>(all.size())});
}

// matmul as numpy: 1-D operands promoted and their dim dropped, batch dims broadcast.
Tensor ref_matmul(const Tensor& a_in, const Tensor& b_in) {
  Shape as = a_in.shape(), bs = b_in.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const std::int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const Shape batch = ref::broadcast(a_batch, b_batch);
  const std::vector<double> a = a_in.to_vector<double>(), b = b_in.to_vector<double>();
  std::vector<double> out;
  for (std::int64_t i = 0; i < ref::count(batch); ++i) {
    const ref::Index index = ref::unravel(i, batch);
    const std::int64_t ai = ref::broadcast_position(index, a_batch), bi = ref::broadcast_position(index, b_batch);
    const std::vector<double> am(a.begin() + ai * M * K, a.begin() + (ai + 1) * M * K);
    const std::vector<double> bm(b.begin() + bi * K * N, b.begin() + (bi + 1) * K * N);
    const std::vector<double> c = ref::matmul2d(am, bm, M, K, N);
    out.insert(out.end(), c.begin(), c.end());
  }
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  return ref::make(out, out_shape);
}

}  // namespace

EMBER_OP(sum) {
  return {.name = "sum",
          .op = [](Inputs in) { return cat({flat(sum(in[0], {1})), flat(sum(in[0], {0, 2}, true)), sum(in[0]).reshape({1})}); },
          .samples = [] { return three_dim(); },
          .reference = [](Inputs in) {
            return ref_cat_flat({ref_sum(in[0], {1}), ref_sum(in[0], {0, 2}, true), ref_sum(in[0], {})});
          },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"sum: dim out of range", [] { sum(zeros({2, 3}), {2}); }, {"sum", "dim 2", "2 dims"}},
                    {"sum: repeated dim", [] { sum(zeros({2, 3}), {1, -1}); }, {"sum", "repeated", "[1, -1]"}},
                    {"sum: undefined tensor", [] { sum(Tensor()); }, {"sum", "undefined"}}}};
}
EMBER_OP(mean) {
  return {.name = "mean",
          .op = [](Inputs in) { return cat({flat(mean(in[0], {-1})), flat(mean(in[0], {0}, true))}); },
          .samples = [] { return three_dim({2, 0, 4}); },
          .reference = [](Inputs in) { return ref_cat_flat({ref_mean(in[0], {2}), ref_mean(in[0], {0}, true)}); },
          .errors = {{"mean: undefined tensor", [] { mean(Tensor()); }, {"mean", "undefined"}},
                    {"mean: int64 tensor", [] { mean(zeros({2}, kInt64)); }, {"mean", "int64", "[2]"}},
                    {"mean: over an empty dim", [] { mean(zeros({0, 3}), {0}); }, {"mean", "empty", "[0, 3]"}}}};
}
EMBER_OP(max) {
  return {.name = "max",
          .op = [](Inputs in) { return cat({flat(max(in[0], {1})), max(in[0]).reshape({1})}); },
          .samples = [] {
            auto v = three_dim();
            v.pop_back();  // the maximum of no elements is an error row
            return v;
          },
          .reference = [](Inputs in) { return ref_cat_flat({ref_max(in[0], {1}), ref_max(in[0], {})}); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"max: over an empty dim", [] { max(zeros({0, 3}), {0}); }, {"max", "empty", "[0, 3]"}}}};
}
EMBER_OP(argmax) {
  return {.name = "argmax",
          .op = [](Inputs in) { return cat({flat(argmax(in[0], 1)), flat(argmax(in[0], 2, true))}); },
          .samples = [] {
            auto v = three_dim({2, 3, 0});
            v.pop_back();
            return v;
          },
          .reference = [](Inputs in) { return ref_cat_flat({ref_argmax(in[0], 1, false), ref_argmax(in[0], 2, true)}); },
          .differentiable = false,
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"argmax: undefined tensor", [] { argmax(Tensor(), 0); }, {"argmax", "undefined"}},
                    {"argmax: over an empty dim", [] { argmax(zeros({0}), 0); }, {"argmax", "empty", "[0]"}},
                    {"argmax: dim out of range", [] { argmax(zeros({2, 3}), 5); }, {"argmax", "dim 5"}}}};
}
EMBER_OP(var) {
  return {.name = "var",
          .op = [](Inputs in) { return cat({flat(var(in[0], {1})), flat(var(in[0], {0, 2}, 0, true))}); },
          .samples = [] {
            auto v = three_dim();
            v.pop_back();  // no degrees of freedom is an error row
            return v;
          },
          .reference = [](Inputs in) { return ref_cat_flat({ref_var(in[0], {1}, 1, false), ref_var(in[0], {0, 2}, 0, true)}); },
          .errors = {{"var: undefined tensor", [] { var(Tensor()); }, {"var", "undefined"}},
                    {"var: int64 tensor", [] { var(zeros({3}, kInt64)); }, {"var", "int64", "[3]"}},
                    {"var: no degrees of freedom", [] { var(zeros({1, 3}), {0}); }, {"var", "correction 1", "[1, 3]"}}}};
}
EMBER_OP(sum_to) {
  return {.name = "sum_to",
          .op = [](Inputs in) { return sum_to(in[0], {3, 1}); },
          .samples = [] { return three_dim({2, 3, 0}); },
          .reference = [](Inputs in) { return ref_sum(ref_sum(in[0], {0}), {1}, true); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"sum_to: a shape g does not broadcast from", [] { sum_to(zeros({2, 3}), {4}); }, {"sum_to", "[2, 3]", "[4]"}},
                     {"sum_to: a shape larger than g", [] { sum_to(zeros({3}), {2, 3}); }, {"sum_to", "[2, 3]", "[3]"}}}};
}

EMBER_OP(matmul) {
  return {.name = "matmul",
          .op = [](Inputs in) { return matmul(in[0], in[1]); },
          .samples = [] {
            return std::vector<Sample>{
                {"2-D", {s::normal({3, 4}), s::normal({4, 2})}},
                {"transposed operands", {s::transposed(3, 4), s::transposed(4, 2)}},
                {"batch broadcast", {s::normal({2, 1, 3, 4}), s::normal({3, 4, 2})}},
                {"1-D lhs", {s::normal({4}), s::normal({2, 4, 3})}},
                {"1-D rhs", {s::normal({2, 3, 4}), s::normal({4})}},
                {"strided columns", {s::normal({2, 3, 4}), s::strided({4, 3})}},
                {"permuted batch dims", {s::normal({3, 2, 4, 5}).permute({1, 0, 2, 3}), s::normal({2, 3, 5, 2})}},
                {"empty K = 0", {s::normal({3, 0}), s::normal({0, 4})}},
                {"empty M = 0", {s::normal({0, 6}), s::normal({6, 4})}}};
          },
          .reference = [](Inputs in) { return ref_matmul(in[0], in[1]); },
          .dtypes = {kFloat32, kFloat64, kBFloat16},
          .errors = {{"matmul: undefined operand", [] { matmul(Tensor(), zeros({2})); }, {"matmul", "undefined"}},
                    {"matmul: inner dims differ",
                [] { matmul(zeros({2, 3}), zeros({4, 5})); },
                {"matmul", "[2, 3]", "[4, 5]", "inner dimensions 3 and 4"}},
                    {"matmul: vectors of different lengths", [] { matmul(zeros({3}), zeros({4})); }, {"matmul", "[3]", "[4]", "3 and 4"}},
                    {"matmul: 0-d operand", [] { matmul(zeros({}), zeros({2})); }, {"matmul", "[]", "[2]", "at least 1 dim"}},
                    {"matmul: batch dims that do not broadcast", [] { matmul(zeros({2, 2, 3}), zeros({3, 3, 1})); }, {"matmul", "[2]", "[3]"}},
                    {"matmul: dtype mismatch", [] { matmul(zeros({2, 3}), zeros({3}, kFloat64)); }, {"matmul", "float32", "float64", "[2, 3]"}},
                    {"matmul: int64 operands", [] { matmul(zeros({2, 2}, kInt64), zeros({2, 2}, kInt64)); }, {"matmul", "int64", "[2, 2]"}},
                    {"matmul: mixed devices",
                [] { matmul(zeros({2, 2}), zeros({2, 2}, kCUDA)); },
                {"matmul", "different devices", "cuda:0"}, Needs::Cuda}},
          .tolerance = 1e-11};
}
