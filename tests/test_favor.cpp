// FAVOR+ random features (nn/favor.h): the projection is orthogonal within blocks with
// chi-distributed row lengths, redraws on demand and every K training passes, the estimate of
// softmax attention improves as features grow, and a checkpoint stores the projection so a
// reloaded model gives bit-identical outputs.
#include <cstdio>
#include <filesystem>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

double relative_error(const Tensor& got, const Tensor& expected) {
  return std::sqrt(sum((got - expected) * (got - expected)).item<double>() / sum(expected * expected).item<double>());
}

}  // namespace

TEST_CASE("favor: rows of a block are orthogonal, lengths vary like Gaussian rows") {
  Generator gen(41);
  nn::FavorFeatures favor(8, {.num_features = 20}, gen);  // blocks of 8, 8 and 4 rows
  const Tensor W = favor.projection.to(kFloat64);
  REQUIRE(W.shape() == Shape{20, 8});
  const std::vector<double> gram = matmul(W, W.transpose(0, 1)).to_vector<double>();
  double lengths_min = 1e9, lengths_max = 0;
  for (std::int64_t i = 0; i < 20; ++i) {
    const double length = std::sqrt(gram[i * 20 + i]);
    lengths_min = std::min(lengths_min, length);
    lengths_max = std::max(lengths_max, length);
    for (std::int64_t j = 0; j < 20; ++j)
      if (i != j && i / 8 == j / 8) CHECK(std::abs(gram[i * 20 + j]) < 1e-5 * gram[i * 20 + i]);
  }
  CHECK(lengths_max > lengths_min * 1.1);  // chi(8)-distributed, not all sqrt(8)
  CHECK(lengths_min > 0.5);
}

TEST_CASE("favor: features are positive and bounded, queries row by row, keys per sequence") {
  manual_seed(42);
  nn::FavorFeatures favor(4, {.num_features = 16});
  Tensor x = randn({2, 3, 5, 4}) * 20.0;  // large inputs: unstabilized exp would underflow or overflow
  for (const Tensor& phi : {favor.forward(x), favor.forward_keys(x)}) {
    CHECK(phi.shape() == Shape{2, 3, 5, 16});
    CHECK(max(-phi).item<double>() <= 0);
    CHECK(max(phi).item<double>() == doctest::Approx(0.25));  // the largest exponent is 0: 1 / sqrt(16)
  }
  // Every query row keeps a feature of 1 / sqrt(m); a key sequence keeps one over all its rows.
  CHECK(max(favor.forward(x), {-1}).to_vector<double>() == std::vector<double>(30, 0.25));
  const std::vector<double> per_sequence = max(favor.forward_keys(x), {-2, -1}).to_vector<double>();
  for (double m : per_sequence) CHECK(m == doctest::Approx(0.25));
}

TEST_CASE("favor: attention converges to softmax attention as features grow (16 -> 256 -> 4096)") {
  manual_seed(43);
  const std::int64_t D = 8;
  Tensor q = randn({1, 2, 16, D}, kFloat64) * 0.5, k = randn({1, 2, 16, D}, kFloat64) * 0.5;
  Tensor v = randn({1, 2, 16, 4}, kFloat64);
  const Tensor softmax_out = scaled_dot_product_attention(q, k, v);  // scale 1 / sqrt(D), as FAVOR+'s kernel
  std::vector<double> errors;
  for (std::int64_t m : {16, 256, 4096}) {
    Generator gen(7);
    nn::FavorFeatures favor(D, {.num_features = m}, gen);
    favor.to(kFloat64);
    const double error = relative_error(linear_attention(favor.forward(q), favor.forward_keys(k), v, {.eps = 0}),
                                        softmax_out);
    MESSAGE("m = " << m << ": relative error against softmax attention " << error);
    errors.push_back(error);
  }
  CHECK(errors[1] < errors[0]);
  CHECK(errors[2] < errors[1]);
  CHECK(errors[2] < 0.035);  // measured 0.026 (16: 0.39, 256: 0.070)
}

TEST_CASE("favor: new_feature_map redraws, every K training passes and on demand through a model") {
  manual_seed(44);
  nn::FavorFeatures favor(4, {.num_features = 8, .redraw_interval = 2});
  Tensor x = randn({1, 1, 3, 4});
  const std::vector<double> first = favor.projection.to_vector<double>();
  favor.eval();
  for (int pass = 0; pass < 3; ++pass) favor.forward_keys(x);
  CHECK(favor.projection.to_vector<double>() == first);  // eval: never redrawn
  favor.train();
  favor.forward_keys(x);
  favor.forward_keys(x);
  CHECK(favor.projection.to_vector<double>() == first);  // passes 1 and 2 use the first draw
  favor.forward_keys(x);
  const std::vector<double> second = favor.projection.to_vector<double>();
  CHECK(second != first);  // pass 3 redraws
  // Keys with padding (training with key_lengths) count as passes too.
  Tensor unused_offset;
  const Tensor all_valid = ones({1, 1, 3, 1});
  favor.forward_valid_keys(x, all_valid, unused_offset);
  CHECK(favor.projection.to_vector<double>() == second);  // pass 4
  favor.forward_valid_keys(x, all_valid, unused_offset);
  CHECK(favor.projection.to_vector<double>() != second);  // pass 5 redraws

  nn::AttentionOptions o;
  o.kind = nn::AttentionKind::Linear;
  o.feature_map = nn::feature_maps::favor({.num_features = 8});
  nn::MultiHeadAttention mha(8, 2, o);
  const Tensor before = mha.query_map->state_dict().at("projection").clone();
  const Tensor q_weight = mha.q->weight.clone();
  Generator gen(5);
  nn::redraw_feature_maps(mha, gen);
  CHECK(max(abs(mha.query_map->state_dict().at("projection") - before)).item<double>() > 0);
  CHECK(max(abs(mha.q->weight - q_weight)).item<double>() == 0);  // only the random features change
}

TEST_CASE("favor: a checkpoint round trip reproduces a model's outputs bit for bit") {
  nn::TransformerConfig config;
  config.vocab_size = 7;
  config.d_model = 16;
  config.heads = 2;
  config.decoder_layers = 2;
  config.d_ff = 32;
  config.dropout = 0;
  config.attention = nn::AttentionKind::Linear;
  config.feature_map = nn::feature_maps::favor({.num_features = 12});
  manual_seed(45);
  nn::CausalLM saved_model(config);
  manual_seed(46);  // other weights and other projections until the checkpoint is loaded
  nn::CausalLM loaded_model(config);
  saved_model.eval();
  loaded_model.eval();
  const Tensor tokens = from_vector<std::int64_t>({1, 2, 3, 4, 5, 6, 0, 1}, {2, 4});
  const std::string path = (std::filesystem::temp_directory_path() / "ember_favor_round_trip.safetensors").string();
  nn::save(saved_model, path);
  CHECK(max(abs(saved_model.forward(tokens) - loaded_model.forward(tokens))).item<double>() > 0);
  nn::load(loaded_model, path);
  std::remove(path.c_str());
  int projections = 0;
  for (const auto& [name, tensor] : saved_model.state_dict()) projections += name.ends_with("self_attn.feature_map.projection");
  CHECK(projections == 2);  // one per layer
  CHECK(saved_model.forward(tokens).to_vector<float>() == loaded_model.forward(tokens).to_vector<float>());
}
