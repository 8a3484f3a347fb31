// nn layers: forward against closed forms, gradient checks for inputs and parameters, Module
// bookkeeping (names, modes, state dicts).
#include <algorithm>
#include <cmath>

#include "loop_reference.h"
#include "nn_helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("module: dotted names, train/eval, zero_grad, strict load_state_dict") {
  nn::TransformerConfig c;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  nn::Seq2SeqTransformer model(c);
  auto named = model.named_parameters();
  auto has = [&](const std::string& n) {
    for (auto& [name, t] : named)
      if (name == n) return true;
    return false;
  };
  CHECK(has("encoder.0.self_attn.q.weight"));
  CHECK(has("decoder.0.cross_attn.out.bias"));
  CHECK(has("head.weight"));
  CHECK(model.is_training());
  model.eval();
  CHECK_FALSE(model.children().front()->is_training());
  auto state = model.state_dict();
  CHECK(state.size() == named.size());
  nn::Seq2SeqTransformer other(c);
  other.load_state_dict(state);
  CHECK(other.state_dict()["head.weight"].to_vector<float>() == state["head.weight"].to_vector<float>());
  auto broken = state;
  broken.erase("head.bias");
  broken["extra.weight"] = zeros({1});
  broken["head.weight"] = zeros({3, 3});
  CHECK_ERROR_CONTAINS(other.load_state_dict(broken), "load_state_dict", "head.bias", "extra.weight", "head.weight", "[3, 3]");
  sum(other.forward(zeros({1, 3}, kInt64), zeros({1, 2}, kInt64))).backward();
  CHECK(other.parameters().front().grad().defined());
  other.zero_grad();
  CHECK_FALSE(other.parameters().front().grad().defined());
}

TEST_CASE("Linear: y = x W^T + b with PyTorch's init bounds") {
  manual_seed(1);
  nn::Linear linear(4, 3);
  CHECK(linear.weight.shape() == Shape{3, 4});
  CHECK(max(abs(linear.weight)).item<float>() <= 0.5f);  // 1/sqrt(4)
  CHECK(max(abs(linear.bias)).item<float>() <= 0.5f);
  CHECK(max(abs(linear.weight)).item<float>() > 0.0f);
  // (2, 5, 4) input: the reference is y[n][o] = b[o] + sum_i x[n][i] W[o][i], looped over the 10 rows.
  Tensor x = randn({2, 5, 4});
  Tensor y = linear(x);
  CHECK(y.shape() == Shape{2, 5, 3});
  check_values(y, loops::linear(linear, "", loops::matrix_of(x)).v, 1e-6);
  // float64, and an input that is a transposed (non-contiguous) view.
  linear.to(kFloat64);
  Tensor xt = randn({4, 6}, kFloat64).t();
  check_values(linear(xt), loops::linear(linear, "", loops::matrix_of(xt)).v, 1e-13);
  nn::Linear no_bias(4, 2, false);
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(no_bias.parameters().size() == 1);
  check_values(no_bias(x), loops::linear(no_bias, "", loops::matrix_of(x)).v, 1e-6);
  CHECK_ERROR_CONTAINS(linear(randn({2, 5})), "Linear", "[2, 5]");
}

TEST_CASE("LayerNorm, Embedding, Dropout, Sequential: forward values") {
  manual_seed(2);
  nn::LayerNorm norm(Shape{4});
  Tensor x = randn({3, 4}, kFloat64);
  norm.to(kFloat64);
  {
    NoGradGuard no_grad;  // away from the initial ones and zeros, so that the affine part counts
    norm.weight.copy_(randn({4}, kFloat64));
    norm.bias.copy_(randn({4}, kFloat64));
  }
  check_values(norm(x), loops::layer_norm(norm, "", loops::matrix_of(x)).v, 1e-12);
  nn::Embedding emb(5, 3);
  Tensor rows = emb(from_vector<std::int64_t>({4, 0}));
  CHECK(rows.select(0, 0).to_vector<float>() == emb.weight.select(0, 4).to_vector<float>());
  nn::Dropout drop(0.5);
  drop.eval();
  Tensor ones_in = ones({100});
  CHECK(drop(ones_in).to_vector<float>() == ones_in.to_vector<float>());
  drop.train();
  CHECK(sum(eq(drop(ones_in), zeros({}))).item<float>() > 20);
  auto fc = std::make_shared<nn::Linear>(4, 4);
  nn::Sequential seq;
  seq.push_back(fc);
  seq.push_back(std::make_shared<nn::Dropout>(0.0));
  Tensor xf = randn({2, 4});
  CHECK(seq(xf).to_vector<float>() == (*fc)(xf).to_vector<float>());
  CHECK(seq.named_parameters().front().first == "0.weight");
}

TEST_CASE("FeedForward: fc2(act(fc1(x))) written out in loops, ReLU by default, GELU (erf form) on request") {
  manual_seed(9);
  Tensor x = randn({2, 3, 4}, kFloat64);
  const loops::Matrix rows = loops::matrix_of(x);
  // The default activation is ReLU; dropout is off in eval mode.
  nn::FeedForward relu_ffn(4, 8, 0.5);
  relu_ffn.to(kFloat64);
  relu_ffn.eval();
  const std::vector<double> relu_expected = loops::feed_forward(relu_ffn, "", rows, nn::Activation::ReLU).v;
  check_values(relu_ffn(x), relu_expected, 1e-12);
  // With the same weights, GELU gives another answer (about half of fc1's outputs are negative).
  nn::FeedForward gelu_ffn(4, 8, 0.0, nn::Activation::GELU);
  gelu_ffn.to(kFloat64);
  gelu_ffn.load_state_dict(relu_ffn.state_dict());
  const std::vector<double> gelu_expected = loops::feed_forward(gelu_ffn, "", rows, nn::Activation::GELU).v;
  check_values(gelu_ffn(x), gelu_expected, 1e-12);
  double largest_gap = 0;
  for (std::size_t i = 0; i < gelu_expected.size(); ++i)
    largest_gap = std::max(largest_gap, std::abs(gelu_expected[i] - relu_expected[i]));
  CHECK(largest_gap > 1e-3);
  // fc1 is (d_ff, d_model) and fc2 (d_model, d_ff).
  CHECK(loops::state_of(relu_ffn, "fc1.weight").shape() == Shape{8, 4});
  CHECK(loops::state_of(relu_ffn, "fc2.weight").shape() == Shape{4, 8});
}

TEST_CASE("PositionalEncoding: sin on even dims, cos on odd, from a start position") {
  nn::PositionalEncoding pe(4);
  Tensor out = pe(zeros({1, 3, 4}, kFloat64), 2);
  std::vector<double> v = out.to_vector<double>();
  for (int n = 0; n < 3; ++n) {
    double pos = n + 2;
    CHECK(v[n * 4 + 0] == doctest::Approx(std::sin(pos)));
    CHECK(v[n * 4 + 1] == doctest::Approx(std::cos(pos)));
    CHECK(v[n * 4 + 2] == doctest::Approx(std::sin(pos / 100.0)));
    CHECK(v[n * 4 + 3] == doctest::Approx(std::cos(pos / 100.0)));
  }
}

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: Linear") {
  manual_seed(3);
  nn::Linear linear(3, 2);
  linear.to(kFloat64);
  check_gradients([&](const std::vector<Tensor>& in) { return linear(in[0]); }, {input({2, 2, 3})});
  Tensor x = randn({4, 3}, kFloat64);
  check_parameter_gradients(linear, [&] { return linear(x); });
}

TEST_CASE("gradcheck: Embedding") {
  manual_seed(4);
  nn::Embedding emb(4, 3);
  emb.to(kFloat64);
  Tensor idx = from_vector<std::int64_t>({1, 3, 1, 0}, {2, 2});
  check_parameter_gradients(emb, [&] { return emb(idx); });
}

TEST_CASE("gradcheck: LayerNorm") {
  manual_seed(5);
  nn::LayerNorm norm(Shape{4});
  norm.to(kFloat64);
  {
    NoGradGuard g;
    norm.weight.copy_(randn({4}, kFloat64));
  }
  check_gradients([&](const std::vector<Tensor>& in) { return norm(in[0]); }, {input({3, 4})});
  Tensor x = randn({3, 4}, kFloat64);
  check_parameter_gradients(norm, [&] { return norm(x); });
}

TEST_CASE("gradcheck: Dropout") {
  nn::Dropout drop(0.4);
  check_gradients([&](const std::vector<Tensor>& in) {
    manual_seed(6);  // same mask every evaluation
    return drop(in[0]);
  }, {input({3, 4})});
}

TEST_CASE("gradcheck: Sequential") {
  manual_seed(7);
  nn::Sequential seq;
  seq.push_back(std::make_shared<nn::Linear>(3, 4));
  seq.push_back(std::make_shared<nn::LayerNorm>(Shape{4}));
  seq.push_back(std::make_shared<nn::Linear>(4, 2));
  seq.to(kFloat64);
  check_gradients([&](const std::vector<Tensor>& in) { return seq(in[0]); }, {input({2, 3})});
  Tensor x = randn({2, 3}, kFloat64);
  check_parameter_gradients(seq, [&] { return seq(x); });
}

TEST_CASE("gradcheck: FeedForward") {
  manual_seed(8);
  nn::FeedForward ffn(3, 5, 0.0, nn::Activation::GELU);
  ffn.to(kFloat64);
  check_gradients([&](const std::vector<Tensor>& in) { return ffn(in[0]); }, {input({2, 3})});
  Tensor x = randn({2, 3}, kFloat64);
  check_parameter_gradients(ffn, [&] { return ffn(x); });
}

TEST_CASE("gradcheck: PositionalEncoding") {
  nn::PositionalEncoding pe(4);
  check_gradients([&](const std::vector<Tensor>& in) { return pe(in[0], 3) * in[0]; }, {input({1, 2, 4})});
}
}
