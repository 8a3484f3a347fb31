// Op table rows of the elementwise family (ops/elementwise.h).
#include <cmath>
#include <numbers>

#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;

namespace {

const std::vector<DType> kAnyDtype = {kFloat32, kFloat64, kInt64};

Tensor zip(Inputs in, double (*f)(double, double)) { return ref::zip(in[0], in[1], f); }

// Unary activations share their samples and differ in domain, formula and error rows.
OpEntry activation(std::string name, Tensor (*op)(const Tensor&), double (*formula)(double), s::Make domain,
                   std::vector<ErrorRow> errors) {
  return {.name = name,
          .op = [op](Inputs in) { return op(in[0]); },
          .samples = [domain] { return s::unary(domain); },
          .reference = [formula](Inputs in) { return ref::map(in[0], formula); },
          .errors = std::move(errors)};
}

ErrorRow int64_refused(const std::string& name, Tensor (*op)(const Tensor&)) {
  return {name + ": int64 tensor", [op] { op(zeros({3}, kInt64)); }, {name, "int64", "[3]"}};
}
ErrorRow undefined_refused(const std::string& name, Tensor (*op)(const Tensor&)) {
  return {name + ": undefined tensor", [op] { op(Tensor()); }, {name, "undefined"}};
}
ErrorRow bfloat16_refused(const std::string& name, Tensor (*op)(const Tensor&)) {
  return {name + ": bfloat16 tensor", [op] { op(zeros({2}, kBFloat16)); }, {name, "bfloat16", "[2]", "autocast"}};
}

std::vector<ErrorRow> unary_rows(const std::string& name, Tensor (*op)(const Tensor&)) {
  return {int64_refused(name, op), undefined_refused(name, op), bfloat16_refused(name, op)};
}

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }

}  // namespace

// ---- binary arithmetic (the tensor-scalar overloads are the `scalar_arithmetic` entry)
EMBER_OP(add) {
  return {.name = "add",
          .op = [](Inputs in) { return add(in[0], in[1]); },
          .samples = [] { return s::binary(); },
          .reference = [](Inputs in) { return zip(in, [](double a, double b) { return a + b; }); },
          .dtypes = kAnyDtype,
          .errors = {{"add: bfloat16 operands", [] { add(zeros({2}, kBFloat16), zeros({2}, kBFloat16)); }, {"add", "bfloat16", "[2]", "autocast"}},
                    {"add: shapes that do not broadcast",
                [] { add(zeros({2, 3}), zeros({4})); },
                {"add", "[2, 3]", "[4]", "cannot be broadcast"}},
                    {"add: mixed devices", [] { add(zeros({2}), cuda2()); }, {"add", "different devices", "cpu", "cuda:0"}, Needs::Cuda}},
          .covers = {"add", "operator+"}};
}
EMBER_OP(sub) {
  return {.name = "sub",
          .op = [](Inputs in) { return in[0] - in[1]; },
          .samples = [] { return s::binary(); },
          .reference = [](Inputs in) { return zip(in, [](double a, double b) { return a - b; }); },
          .dtypes = kAnyDtype,
          .errors = {{"sub: dtype mismatch", [] { sub(zeros({2}), zeros({2}, kFloat64)); }, {"sub", "dtype mismatch", "float32", "float64"}}},
          .covers = {"sub", "operator-"}};
}
EMBER_OP(mul) {
  return {.name = "mul",
          .op = [](Inputs in) { return in[0] * in[1]; },
          .samples = [] { return s::binary(); },
          .reference = [](Inputs in) { return zip(in, [](double a, double b) { return a * b; }); },
          .dtypes = kAnyDtype,
          .errors = {{"mul: undefined operand", [] { mul(Tensor(), ones({2})); }, {"mul", "undefined"}}},
          .covers = {"mul", "operator*"}};
}
EMBER_OP(div) {
  return {.name = "div",
          .op = [](Inputs in) { return in[0] / in[1]; },
          .samples = [] { return s::binary(s::normal, s::positive()); },
          .reference = [](Inputs in) { return zip(in, [](double a, double b) { return a / b; }); },
          .dtypes = {kFloat32, kFloat64},
          .errors = {{"div: int64 divided by a scalar", [] { div(zeros({2}, kInt64), 2.0); }, {"div", "int64", "[2]"}},
                     {"div: int64 tensors", [] { div(ones({2}, kInt64), ones({2}, kInt64)); }, {"div", "int64", "[2]"}}},
          .covers = {"div", "operator/"}};
}

// x + 1.5, x * 3, x - 2, x / 4, 2 - x, 3 / x and the scalar-first operators, in one expression.
EMBER_OP(scalar_arithmetic) {
  return {.name = "scalar_arithmetic",
          .op = [](Inputs in) {
            const Tensor& x = in[0];
            return add(mul(sub(x + 1.5, 2.0), 3.0), div(x, 4.0)) + (2.0 - x) + 3.0 / x + 0.5 * x + (1.0 + x);
          },
          .samples = [] { return s::unary(s::positive()); },
          .reference = [](Inputs in) {
            return ref::map(in[0], [](double x) { return (x + 1.5 - 2.0) * 3.0 + x / 4.0 + (2.0 - x) + 3.0 / x + 0.5 * x + 1.0 + x; });
          },
          .errors = {{"rdiv: int64 tensor", [] { rdiv(zeros({2}, kInt64), 1.0); }, {"rdiv", "int64", "[2]"}},
                     {"div: int64 divided by a scalar", [] { div(zeros({2}, kInt64), 2.0); }, {"div", "int64", "[2]"}},
                     {"add: bfloat16 plus a scalar", [] { add(zeros({2}, kBFloat16), 1.0); }, {"add", "bfloat16"}}},
          .covers = {"rsub", "rdiv"}};
}
EMBER_OP(rsub) {
  return {.name = "rsub",
          .op = [](Inputs in) { return rsub(in[0], 2.0); },
          .samples = [] { return s::unary(); },
          .reference = [](Inputs in) { return ref::map(in[0], [](double x) { return 2.0 - x; }); },
          .dtypes = kAnyDtype,
          .errors = {{"rsub: undefined tensor", [] { rsub(Tensor(), 1.0); }, {"rsub", "undefined"}},
                     {"rsub: a fractional scalar with an int64 tensor", [] { rsub(zeros({2}, kInt64), 2.5); },
                      {"rsub", "2.5", "int64", "[2]"}}}};
}
EMBER_OP(rdiv) {
  return {.name = "rdiv",
          .op = [](Inputs in) { return rdiv(in[0], -1.5); },
          .samples = [] { return s::unary(s::positive()); },
          .reference = [](Inputs in) { return ref::map(in[0], [](double x) { return -1.5 / x; }); },
          .errors = {{"rdiv: int64 tensor", [] { rdiv(zeros({2}, kInt64), 1.0); }, {"rdiv", "int64", "[2]"}}}};
}

// ---- comparisons: 0/1 in the operands' dtype, not differentiable
#define EMBER_COMPARISON(id, expr)                                                                       \
  EMBER_OP(id) {                                                                                         \
    return {.name = #id,                                                                                 \
            .op = [](Inputs in) { return id(in[0], in[1]); },                                            \
            .samples = [] {                                                                              \
              auto v = s::binary([](const Shape& sh) { return rounded(randn(sh, kFloat64)); },             \
                                 [](const Shape& sh) { return rounded(randn(sh, kFloat64)); });            \
              return v;                                                                                  \
            },                                                                                           \
            .reference = [](Inputs in) { return zip(in, [](double a, double b) { return double(expr); }); }, \
            .differentiable = false,                                                                     \
            .dtypes = kAnyDtype,                                                                         \
            .errors = {{#id ": shapes that do not broadcast", [] { id(zeros({2}), zeros({3})); }, {#id, "[2]", "[3]"}}, \
                       {#id ": dtype mismatch", [] { id(zeros({2}), zeros({2}, kFloat64)); }, {#id, "float32", "float64"}}}}; \
  }

// Integer-valued samples so that equal elements occur.
Tensor rounded(const Tensor& x) { return from_vector<double>([&] { auto v = x.to_vector<double>(); for (double& e : v) e = std::round(e); return v; }(), x.shape()); }

EMBER_COMPARISON(eq, a == b)
EMBER_COMPARISON(ne, a != b)
EMBER_COMPARISON(lt, a < b)
EMBER_COMPARISON(le, a <= b)
EMBER_COMPARISON(gt, a > b)
EMBER_COMPARISON(ge, a >= b)
#undef EMBER_COMPARISON

// ---- unary
EMBER_OP(neg) {
  return {.name = "neg",
          .op = [](Inputs in) { return -in[0]; },
          .samples = [] { return s::unary(); },
          .reference = [](Inputs in) { return ref::map(in[0], [](double x) { return -x; }); },
          .dtypes = kAnyDtype,
          .errors = {undefined_refused("neg", [](const Tensor& x) { return neg(x); }),
                     bfloat16_refused("neg", [](const Tensor& x) { return neg(x); })},
          .covers = {"neg"}};
}
EMBER_OP(exp) {
  return activation("exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, s::normal,
                    unary_rows("exp", [](const Tensor& x) { return exp(x); }));
}
EMBER_OP(log) {
  return activation("log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, s::positive(),
                    unary_rows("log", [](const Tensor& x) { return log(x); }));
}
EMBER_OP(sqrt) {
  return activation("sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); },
                    s::positive(), unary_rows("sqrt", [](const Tensor& x) { return sqrt(x); }));
}
EMBER_OP(rsqrt) {
  return activation("rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); },
                    s::positive(), unary_rows("rsqrt", [](const Tensor& x) { return rsqrt(x); }));
}
EMBER_OP(abs) {
  return activation("abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); },
                    s::away_from_zero, unary_rows("abs", [](const Tensor& x) { return abs(x); }));
}
EMBER_OP(tanh) {
  return activation("tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, s::normal,
                    unary_rows("tanh", [](const Tensor& x) { return tanh(x); }));
}
EMBER_OP(sigmoid) {
  return activation("sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); },
                    s::normal, unary_rows("sigmoid", [](const Tensor& x) { return sigmoid(x); }));
}
EMBER_OP(relu) {
  return activation("relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; },
                    s::away_from_zero, unary_rows("relu", [](const Tensor& x) { return relu(x); }));
}
EMBER_OP(gelu) {
  return activation("gelu", [](const Tensor& x) { return gelu(x); }, ::gelu, s::normal,
                    unary_rows("gelu", [](const Tensor& x) { return gelu(x); }));
}
EMBER_OP(elu) {
  OpEntry e = activation("elu", [](const Tensor& x) { return elu(x) + elu(x, 0.7); },
                         [](double x) { return x > 0 ? 2 * x : (std::exp(x) - 1) * 1.7; }, s::away_from_zero,
                         unary_rows("elu", [](const Tensor& x) { return elu(x); }));
  return e;
}
EMBER_OP(pow) {
  OpEntry e = activation("pow", [](const Tensor& x) { return pow(x, 2.5) + pow(x, 2.0) + pow(x, -1.0); },
                         [](double x) { return std::pow(x, 2.5) + x * x + 1 / x; }, s::positive(),
                         unary_rows("pow", [](const Tensor& x) { return pow(x, 2.0); }));
  return e;
}
EMBER_OP(softplus) {
  OpEntry e = activation("softplus", [](const Tensor& x) { return softplus(x * 12.0); },
                         [](double x) { return std::log(1 + std::exp(12 * x)); }, s::normal,
                         unary_rows("softplus", [](const Tensor& x) { return softplus(x); }));
  return e;
}

// ---- where, masked_fill
EMBER_OP(where) {
  return {.name = "where",
          .op = [](Inputs in) { return where(in[0], in[1], in[2]); },
          .samples = [] {
            auto cond = [](const Shape& sh) { return gt(randn(sh, kFloat64), zeros({}, kFloat64)); };
            return std::vector<Sample>{
                {"broadcast all three", {cond({3, 1}), s::normal({3, 4}), s::normal({4})}, {false, true, true}},
                {"transposed value", {cond({3, 4}), s::transposed(3, 4), s::normal({3, 4})}, {false, true, true}},
                {"strided condition", {s::strided({2, 3}, cond), s::normal({2, 3}), s::normal({})}, {false, true, true}},
                {"empty", {cond({0, 2}), s::normal({0, 2}), s::normal({2})}, {false, true, true}}};
          },
          .reference = [](Inputs in) {
            return ref::zip({in[0], in[1], in[2]}, [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; });
          },
          .dtypes = kAnyDtype,
          .errors = {{"where: condition that does not broadcast", [] { where(ones({2}), zeros({3}), zeros({3})); }, {"where", "[2]", "[3]"}},
                    {"where: values of two dtypes",
                [] { where(ones({2}), zeros({2}), zeros({2}, kFloat64)); },
                {"where", "float32", "float64"}}}};
}
EMBER_OP(masked_fill) {
  return {.name = "masked_fill",
          .op = [](Inputs in) { return masked_fill(in[0], in[1], -3.0); },
          .samples = [] {
            auto mask = [](const Shape& sh) { return gt(randn(sh, kFloat64), zeros({}, kFloat64)); };
            return std::vector<Sample>{{"broadcast mask", {s::normal({2, 4, 4}), tril(ones({4, 4}, kFloat64))}, {true, false}},
                                       {"transposed input", {s::transposed(4, 4), mask({4, 4})}, {true, false}},
                                       {"empty", {s::normal({0, 4}), mask({4})}, {true, false}}};
          },
          .reference = [](Inputs in) { return ref::zip(in[1], in[0], [](double m, double x) { return m != 0 ? -3.0 : x; }); },
          .dtypes = kAnyDtype,
          .errors = {{"masked_fill: undefined mask", [] { masked_fill(zeros({2}), Tensor(), 1.0); }, {"masked_fill", "undefined"}},
                    {"masked_fill: mask larger than the input",
                [] { masked_fill(zeros({2}), ones({3, 2}), 1.0); },
                {"masked_fill", "[3, 2]", "[2]"}}}};
}
