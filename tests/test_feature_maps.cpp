// Linear attention's feature maps (nn/feature_maps.h): elu(x) + 1 keeps its small values (exp(x)
// below 0 instead of elu(x) + 1, which is 0 in float32 below about x = -17), stays finite where
// exp(x) would overflow, and its gradient matches finite differences in float64 on both sides of 0.
// Every map (elu+1, relu, FAVOR+, learned, a user's function, different query and key maps) runs
// attention step by step exactly as in parallel, has gradients that match finite differences, and
// refuses bad input by name. FAVOR+'s own properties are in test_favor.cpp.
#include "nn_helpers.h"
#include "ops/error_rows.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("elu_plus_one: exp(x) below 0 and x + 1 above, in float32") {
  nn::EluPlusOne phi;
  std::vector<double> x = {-100.0, -30.0, -17.5, -1.0, 0.0, 0.5, 100.0};
  std::vector<double> got = phi(tensor({-100.0, -30.0, -17.5, -1.0, 0.0, 0.5, 100.0}, kFloat32)).to_vector<double>();
  REQUIRE(got.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i] << ": phi = " << got[i]);
    double expected = x[i] > 0 ? x[i] + 1 : std::exp(x[i]);
    CHECK(got[i] == doctest::Approx(expected).epsilon(1e-6));
  }
  CHECK(got[1] > 0);  // phi(-30) = 9.4e-14: the old elu(x) + 1 gave exactly 0
  CHECK(got[1] == doctest::Approx(std::exp(-30.0)).epsilon(1e-6));
}

TEST_CASE("elu_plus_one: gradient against finite differences in float64") {
  manual_seed(3);
  nn::EluPlusOne phi;
  check_gradients([&](const std::vector<Tensor>& in) { return phi(in[0]); }, {away_from_zero({3, 5})});
  // Far below 0 the gradient is exp(x), tiny but not 0.
  Tensor x = tensor({-30.0, -20.0, 40.0}, kFloat64).requires_grad_();
  sum(phi(x)).backward();
  check_values(x.grad(), {std::exp(-30.0), std::exp(-20.0), 1.0}, 1e-12);
}

// --- Feature maps as modules: every map through attention, parallel against step by step. ---

namespace {

enum class MapKind { EluPlusOne, Relu, Favor, Learned, UserFunction, FavorQueriesEluKeys };
constexpr MapKind kMapKinds[] = {MapKind::EluPlusOne, MapKind::Relu,         MapKind::Favor,
                                 MapKind::Learned,    MapKind::UserFunction, MapKind::FavorQueriesEluKeys};

const char* map_name(MapKind kind) {
  switch (kind) {
    case MapKind::EluPlusOne: return "elu+1";
    case MapKind::Relu: return "relu";
    case MapKind::Favor: return "favor";
    case MapKind::Learned: return "learned";
    case MapKind::UserFunction: return "a user's function";
    case MapKind::FavorQueriesEluKeys: return "favor queries, elu+1 keys";
  }
  return "?";
}

nn::AttentionOptions linear_options(MapKind kind, bool causal) {
  nn::AttentionOptions o;
  o.kind = nn::AttentionKind::Linear;
  o.causal = causal;
  switch (kind) {
    case MapKind::EluPlusOne: break;
    case MapKind::Relu: o.feature_map = nn::feature_maps::relu(); break;
    case MapKind::Favor:
      o.feature_map = nn::feature_maps::favor({.num_features = 8});
      // The step form's running key stabilizer and the parallel form's sequence-wide one are
      // different shared scales, equivalent only up to eps's share of the normaliser.
      o.eps = 0;
      break;
    case MapKind::Learned: o.feature_map = nn::feature_maps::learned({.hidden = 3}); break;
    case MapKind::UserFunction: o.feature_map = [](const Tensor& t) { return sigmoid(t); }; break;
    case MapKind::FavorQueriesEluKeys:  // F = 2 for head size 2: an elu+1 key map fits 2 FAVOR features
      o.feature_map = nn::feature_maps::favor({.num_features = 2});
      o.key_feature_map = nn::feature_maps::elu_plus_one();
      break;
  }
  return o;
}

double max_gap(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item<double>(); }

// A float64 linear attention layer (d_model 4, 2 heads) with `kind` of map, in eval mode.
std::shared_ptr<nn::MultiHeadAttention> float64_attention(MapKind kind, bool causal) {
  auto mha = std::make_shared<nn::MultiHeadAttention>(4, 2, linear_options(kind, causal));
  mha->to(kFloat64);
  mha->eval();
  return mha;
}

}  // namespace

TEST_CASE("feature maps: RNN mode (forward_step) equals the causal parallel form, for every map") {
  for (MapKind kind : kMapKinds) {
    INFO(map_name(kind));
    manual_seed(31);
    auto mha = float64_attention(kind, true);
    Tensor x = randn({2, 7, 4}, kFloat64) * 2.0;
    Tensor parallel = mha->forward(x, x, x);
    nn::AttentionCache cache;
    for (std::int64_t t = 0; t < 7; ++t) CHECK(max_gap(mha->forward_step(x.narrow(1, t, 1), cache), parallel.narrow(1, t, 1)) < 1e-9);
  }
}

TEST_CASE("feature maps: cross-attention step by step equals the non-causal parallel form, for every map") {
  for (MapKind kind : kMapKinds) {
    INFO(map_name(kind));
    manual_seed(32);
    auto mha = float64_attention(kind, false);
    Tensor x = randn({2, 3, 4}, kFloat64), memory = randn({2, 5, 4}, kFloat64);
    Tensor lengths = from_vector<std::int64_t>({5, 2});
    Tensor parallel = mha->forward(x, memory, memory, lengths);
    nn::AttentionCache cache;
    for (std::int64_t t = 0; t < 3; ++t)
      CHECK(max_gap(mha->forward_cross_step(x.narrow(1, t, 1), memory, cache, lengths), parallel.narrow(1, t, 1)) < 1e-9);
  }
}

TEST_CASE("feature maps: padded keys, however large, change nothing (FAVOR+'s shared stabilizer skips them)") {
  for (MapKind kind : kMapKinds) {
    INFO(map_name(kind));
    manual_seed(33);
    auto mha = float64_attention(kind, false);
    Tensor x = randn({1, 3, 4}, kFloat64), memory = randn({1, 3, 4}, kFloat64);
    // Two padded positions 1000 times larger: their exponents would dwarf the real keys'.
    Tensor padded = cat({memory, randn({1, 2, 4}, kFloat64) * 1000.0}, 1);
    Tensor alone = mha->forward(x, memory, memory);
    Tensor masked = mha->forward(x, padded, padded, from_vector<std::int64_t>({3}));
    CHECK(max_gap(masked, alone) < 1e-9);
    nn::AttentionCache cache;
    CHECK(max_gap(mha->forward_cross_step(x.narrow(1, 0, 1), padded, cache, from_vector<std::int64_t>({3})),
                  alone.narrow(1, 0, 1)) < 1e-9);
  }
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: feature maps (elu+1, relu, FAVOR+ with a fixed projection, learned with its parameters)") {
  manual_seed(33);
  nn::EluPlusOne elu;
  check_gradients([&](const std::vector<Tensor>& in) { return elu(in[0]); }, {away_from_zero({3, 5})});
  nn::ReluFeatures relu_map;
  check_gradients([&](const std::vector<Tensor>& in) { return relu_map(in[0]); }, {away_from_zero({3, 5})});
  nn::FavorFeatures favor(4, {.num_features = 6});
  favor.to(kFloat64);
  check_gradients([&](const std::vector<Tensor>& in) { return favor.forward(in[0]); }, {input({2, 3, 4})});
  check_gradients([&](const std::vector<Tensor>& in) { return favor.forward_keys(in[0]); }, {input({2, 3, 4})});
  nn::LearnedFeatures learned(4, 3);
  learned.to(kFloat64);
  check_gradients([&](const std::vector<Tensor>& in) { return learned(in[0]); }, {input({2, 3, 4})});
  Tensor x = randn({2, 3, 4}, kFloat64);
  check_parameter_gradients(learned, [&] { return learned(x); });
}

TEST_CASE("gradcheck: linear MultiHeadAttention with each feature map, causal and not") {
  for (MapKind kind : kMapKinds) {
    for (bool causal : {false, true}) {
      INFO(map_name(kind) << " causal=" << causal);
      manual_seed(34);
      nn::MultiHeadAttention mha(4, 2, linear_options(kind, causal));
      mha.to(kFloat64);
      check_gradients([&](const std::vector<Tensor>& in) { return mha.forward(in[0], in[0], in[0]); }, {input({1, 3, 4})},
                      {.strided_inputs = false});
    }
  }
}
}

TEST_CASE("feature maps: each layer owns its map; a shared map is registered once, a key map beside it") {
  nn::MultiHeadAttention shared(4, 2, linear_options(MapKind::Favor, false));
  CHECK(shared.query_map == shared.key_map);
  CHECK(shared.state_dict().count("feature_map.projection") == 1);
  nn::MultiHeadAttention separate(4, 2, linear_options(MapKind::FavorQueriesEluKeys, false));
  CHECK(separate.query_map != separate.key_map);
  CHECK(dynamic_cast<nn::EluPlusOne*>(separate.key_map.get()) != nullptr);
  // The built-in elementwise maps add no state: checkpoints of earlier models still load.
  nn::MultiHeadAttention plain(4, 2, linear_options(MapKind::EluPlusOne, false));
  CHECK(plain.state_dict().size() == 8);
  nn::LearnedFeatures learned(4, 3);
  CHECK(learned(randn({2, 4})).shape() == Shape{2, 6});
  CHECK(max(-learned(randn({5, 4}) * 30.0)).item<double>() <= 0);  // softmax halves: never negative
}

namespace {
std::vector<ErrorRow> feature_map_rows() {
  return {
      {"FavorFeatures: zero input size", [] { nn::FavorFeatures f(0); }, {"FavorFeatures", "input_dim 0"}},
      {"FavorFeatures: negative redraw interval", [] { nn::FavorFeatures f(4, {.redraw_interval = -1}); },
       {"FavorFeatures", "redraw_interval -1"}},
      {"FavorFeatures: input of the wrong size", [] { nn::FavorFeatures f(4); f.forward(zeros({2, 3})); },
       {"FavorFeatures", "(..., 4)", "[2, 3]"}},
      {"FavorFeatures: float64 input to a float32 map", [] { nn::FavorFeatures f(4); f.forward(zeros({2, 4}, kFloat64)); },
       {"FavorFeatures", "float32", "float64"}},
      {"FavorFeatures::forward_keys: one key without a sequence", [] { nn::FavorFeatures f(4); f.forward_keys(zeros({4})); },
       {"FavorFeatures::forward_keys", "(..., N, 4)", "[4]"}},
      {"LearnedFeatures: zero hidden size", [] { nn::LearnedFeatures f(4, 0); }, {"LearnedFeatures", "hidden 0"}},
      {"FeatureMapSpec: a factory that makes nothing",
       [] { nn::FeatureMapSpec([](std::int64_t) { return std::shared_ptr<nn::FeatureMap>(); }).make(4); },
       {"FeatureMapSpec", "no feature map", "4"}},
  };
}
[[maybe_unused]] const bool registered = register_error_rows(feature_map_rows);
}  // namespace

TEST_CASE("feature maps: bad construction and inputs are refused by name") {
  for (const ErrorRow& row : feature_map_rows()) {
    INFO(row.what);
    CHECK(run_error_row(row).failure.empty());
  }
}
