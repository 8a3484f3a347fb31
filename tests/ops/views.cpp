// Op table rows of the views (ops/view.h): each reference says where every output element is read
// from, with index arithmetic written out here.
#include "reference.h"
#include "samples.h"

using namespace ember;
using namespace ember::testing;
namespace s = ember::testing::samples;
using ref::Index;

namespace {

// (2, 3, 4) contiguous, through a permuted and a strided layout, and empty.
std::vector<Sample> layouts(bool contiguous_only = false) {
  std::vector<Sample> v = {{"(2, 3, 4)", {s::normal({2, 3, 4})}}, {"empty (2, 0, 4)", {s::normal({2, 0, 4})}}};
  if (!contiguous_only) {
    v.push_back({"permuted layout", {s::normal({4, 2, 3}).permute({1, 2, 0})}});
    v.push_back({"step-2 slice", {s::strided({2, 3, 4})}});
  }
  return v;
}

// Row-major reinterpretation: the same flat position in the new shape.
Tensor ref_reshape(const Tensor& x, const Shape& shape) { return ref::make(x.to_vector<double>(), shape); }

Tensor ref_permute(const Tensor& x, const Shape& dims) {
  Shape out_shape;
  for (std::int64_t d : dims) out_shape.push_back(x.size(d));
  return ref::gather(x, out_shape, [&](const Index& o) {
    Index i(o.size());
    for (std::size_t k = 0; k < dims.size(); ++k) i[dims[k]] = o[k];
    return i;
  });
}

}  // namespace

EMBER_OP(view) {
  return {.name = "view",
          .op = [](Inputs in) { return view(in[0], {-1, 4}); },
          .samples = [] { return layouts(true); },
          .reference = [](Inputs in) { return ref_reshape(in[0], {in[0].numel() / 4, 4}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"view: strides that need a copy", [] { zeros({2, 3}).t().view({6}); }, {"view", "[3, 2]", "[6]", "reshape"}},
                    {"view: undefined tensor", [] { view(Tensor(), {2}); }, {"view", "undefined"}}}};
}
EMBER_OP(reshape) {
  return {.name = "reshape",
          .op = [](Inputs in) { return reshape(in[0], {4, -1}) * 2.0; },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) { return ref::map(ref_reshape(in[0], {4, in[0].numel() / 4}), [](double v) { return 2 * v; }); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"reshape: inferred dim that does not divide", [] { zeros({2, 3}).reshape({-1, 4}); }, {"reshape", "[-1, 4]", "6 elements"}},
                    {"reshape: wrong element count", [] { zeros({2, 3}).reshape({4, 2}); }, {"reshape", "[4, 2]", "6 elements"}},
                    {"reshape: two inferred dims",
                [] { zeros({2, 3}).reshape({-1, -1}); },
                {"reshape", "only one dimension can be -1", "[-1, -1]"}},
                    {"reshape: negative size", [] { zeros({2, 3}).reshape({-2, -3}); }, {"reshape", "negative dimension -2"}},
                    {"reshape: size past int64", [] { zeros({0}).reshape({kHuge, kHuge, 0}); }, {"reshape", "too large"}}}};
}
EMBER_OP(flatten) {
  return {.name = "flatten",
          .op = [](Inputs in) { return flatten(in[0], 1); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) { return ref_reshape(in[0], {2, in[0].numel() / 2}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"flatten: undefined tensor", [] { flatten(Tensor()); }, {"flatten", "undefined"}},
                    {"flatten: start after end", [] { zeros({2, 3, 4}).flatten(2, 1); }, {"flatten", "start_dim 2", "end_dim 1"}}}};
}
EMBER_OP(transpose) {
  return {.name = "transpose",
          .op = [](Inputs in) { return transpose(in[0], 0, 2); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) { return ref_permute(in[0], {2, 1, 0}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"transpose: undefined tensor", [] { transpose(Tensor(), 0, 1); }, {"transpose", "undefined"}},
                    {"transpose: dim out of range", [] { zeros({2, 3}).transpose(0, 2); }, {"transpose", "dim 2", "2 dims"}}}};
}
EMBER_OP(permute) {
  return {.name = "permute",
          .op = [](Inputs in) { return permute(in[0], {2, 0, 1}); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) { return ref_permute(in[0], {2, 0, 1}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"permute: undefined tensor", [] { permute(Tensor(), {0}); }, {"permute", "undefined"}},
                    {"permute: repeated dim", [] { zeros({2, 3}).permute({0, 0}); }, {"permute", "repeated", "[0, 0]"}},
                    {"permute: wrong number of dims", [] { zeros({2, 3}).permute({0}); }, {"permute", "1 dims", "[2, 3]"}}}};
}
EMBER_OP(slice) {
  return {.name = "slice",
          .op = [](Inputs in) { return slice(in[0], 2, -3, 100, 2); },  // clamped end, negative start
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) {
            Shape shape = in[0].shape();
            shape[2] = 2;  // positions 1 and 3 of 4
            return ref::gather(in[0], shape, [](const Index& o) { return Index{o[0], o[1], 1 + 2 * o[2]}; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"slice: zero step", [] { zeros({4}).slice(0, 0, 4, 0); }, {"slice", "step", "0"}},
                    {"slice: undefined tensor", [] { slice(Tensor(), 0, 0, 1); }, {"slice", "undefined"}}}};
}
EMBER_OP(narrow) {
  return {.name = "narrow",
          .op = [](Inputs in) { return narrow(in[0], 2, 1, 2); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) {
            Shape shape = in[0].shape();
            shape[2] = 2;
            return ref::gather(in[0], shape, [](const Index& o) { return Index{o[0], o[1], o[2] + 1}; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"narrow: undefined tensor", [] { narrow(Tensor(), 0, 0, 1); }, {"narrow", "undefined"}},
                    {"narrow: past the end", [] { zeros({2, 3}).narrow(1, 2, 2); }, {"narrow", "start 2", "length 2", "[2, 3]"}},
                    {"narrow: length that overflows", [] { zeros({2, 3}).narrow(1, 1, kMax); }, {"narrow", "out of range", "[2, 3]"}}}};
}
EMBER_OP(select) {
  return {.name = "select",
          .op = [](Inputs in) { return select(in[0], 2, -1); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) {
            return ref::gather(in[0], {in[0].size(0), in[0].size(1)}, [](const Index& o) { return Index{o[0], o[1], 3}; });
          },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"select: undefined tensor", [] { select(Tensor(), 0, 0); }, {"select", "undefined"}},
                    {"select: index out of range", [] { zeros({2, 3}).select(1, 3); }, {"select", "index 3", "[2, 3]"}}}};
}
EMBER_OP(unsqueeze) {
  return {.name = "unsqueeze",
          .op = [](Inputs in) { return unsqueeze(in[0], 1); },
          .samples = [] { return layouts(); },
          .reference = [](Inputs in) { return ref_reshape(in[0], {in[0].size(0), 1, in[0].size(1), in[0].size(2)}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"unsqueeze: undefined tensor", [] { unsqueeze(Tensor(), 0); }, {"unsqueeze", "undefined"}},
                    {"unsqueeze: dim out of range", [] { zeros({2}).unsqueeze(3); }, {"unsqueeze", "dim 3"}}}};
}
EMBER_OP(squeeze) {
  return {.name = "squeeze",
          .op = [](Inputs in) { return squeeze(squeeze(in[0].unsqueeze(0).unsqueeze(3)), 0); },
          .samples = [] {
            return std::vector<Sample>{{"(1, 3, 4)", {s::normal({1, 3, 4})}},
                                       {"transposed (1, 4, 3)", {s::normal({1, 3, 4}).transpose(1, 2)}},
                                       {"empty (1, 0, 4)", {s::normal({1, 0, 4})}}};
          },
          .reference = [](Inputs in) { return ref_reshape(in[0], {in[0].size(1), in[0].size(2)}); },
          .dtypes = {kFloat32, kFloat64, kInt64, kBFloat16},
          .errors = {{"squeeze: undefined tensor", [] { squeeze(Tensor(), 0); }, {"squeeze", "undefined"}},
                    {"squeeze: undefined tensor, all dims", [] { squeeze(Tensor()); }, {"squeeze", "undefined"}},
                    {"squeeze: dim out of range", [] { zeros({2}).squeeze(1); }, {"squeeze", "dim 1"}}}};
}
EMBER_OP(expand) {
  return {.name = "expand",
          .op = [](Inputs in) { return expand(in[0], {2, -1, 4}) * in[1]; },
          .samples = [] {
            return std::vector<Sample>{{"(3, 1) to (2, 3, 4)", {s::normal({3, 1}), s::normal({2, 3, 4})}},
                                       {"strided (3, 1)", {s::strided({3, 1}), s::normal({2, 3, 4})}},
                                       {"empty (0, 1)", {s::normal({0, 1}), s::normal({2, 0, 4})}}};
          },
          .reference = [](Inputs in) { return ref::zip(in[0], in[1], [](double a, double b) { return a * b; }); },
          .dtypes = {kFloat32, kFloat64, kInt64},
          .errors = {{"expand: undefined tensor", [] { expand(Tensor(), {2}); }, {"expand", "undefined"}},
                    {"expand: -1 for a new leading dim", [] { zeros({2}).expand({-1, 2}); }, {"expand", "-1", "[-1, 2]"}},
                    {"expand: non-1 dim to another size", [] { zeros({2, 3}).expand({4, 3}); }, {"expand", "[2, 3]", "[4, 3]"}},
                    {"expand: to fewer dims", [] { zeros({2, 3}).expand({3}); }, {"expand", "[2, 3]", "[3]", "fewer dims"}},
                    {"expand: negative size", [] { zeros({1}).expand({-2}); }, {"expand", "negative dimension -2"}},
                    {"expand: size past int64",
                [] { zeros({1, 1}).expand({kHuge, kHuge}); },
                {"expand", "too large", "[1099511627776, 1099511627776]"}}}};
}
