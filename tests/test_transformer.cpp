// Transformer layers and models: gradient checks, layer composition, and recurrent generation
// (RNN state for linear attention, KV cache for softmax) equal to the parallel forward.
#include "nn_helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

nn::TransformerConfig tiny_config(nn::AttentionKind kind, bool norm_first = false) {
  nn::TransformerConfig c;
  c.vocab_size = 7;
  c.d_model = 4;
  c.heads = 2;
  c.d_ff = 6;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  c.dropout = 0.0;
  c.attention = kind;
  c.cross_attention = kind;
  c.norm_first = norm_first;
  c.chunk_size = 3;
  return c;
}

const nn::AttentionKind kKinds[] = {nn::AttentionKind::Softmax, nn::AttentionKind::Linear};

}  // namespace

TEST_SUITE("gradcheck") {
TEST_CASE("gradcheck: EncoderLayer") {
  manual_seed(21);
  for (auto kind : kKinds) {
    for (bool pre : {false, true}) {
      nn::EncoderLayer layer(tiny_config(kind, pre));
      layer.to(kFloat64);
      Tensor lengths = from_vector<std::int64_t>({3, 2});
      check_gradients([&](const std::vector<Tensor>& in) { return layer.forward(in[0], lengths); }, {input({2, 3, 4})});
      Tensor x = randn({2, 3, 4}, kFloat64);
      check_parameter_gradients(layer, [&] { return layer.forward(x, lengths); });
    }
  }
}

TEST_CASE("gradcheck: DecoderLayer") {
  manual_seed(22);
  for (auto kind : kKinds) {
    for (bool pre : {false, true}) {
      nn::DecoderLayer layer(tiny_config(kind, pre), true);
      layer.to(kFloat64);
      check_gradients([&](const std::vector<Tensor>& in) { return layer.forward(in[0], in[1]); },
                      {input({1, 4, 4}), input({1, 3, 4})});
      Tensor x = randn({2, 4, 4}, kFloat64), mem = randn({2, 3, 4}, kFloat64);
      check_parameter_gradients(layer, [&] { return layer.forward(x, mem); });
    }
  }
}

TEST_CASE("gradcheck: CausalLM") {
  manual_seed(23);
  for (auto kind : kKinds) {
    nn::CausalLM model(tiny_config(kind));
    model.to(kFloat64);
    Tensor tokens = randint(0, 7, {2, 5});
    check_parameter_gradients(model, [&] { return model.forward(tokens); });
  }
}

TEST_CASE("gradcheck: Seq2SeqTransformer") {
  manual_seed(24);
  for (auto kind : kKinds) {
    nn::Seq2SeqTransformer model(tiny_config(kind, true));
    model.to(kFloat64);
    Tensor src = randint(0, 7, {2, 4}), tgt = randint(0, 7, {2, 3});
    Tensor lengths = from_vector<std::int64_t>({4, 3});
    check_parameter_gradients(model, [&] { return model.forward(src, tgt, lengths); });
  }
}
}

TEST_CASE("transformer: a post-norm encoder layer is norm2(y + ffn(y)), y = norm1(x + attn(x))") {
  manual_seed(25);
  nn::EncoderLayer layer(tiny_config(nn::AttentionKind::Softmax));
  layer.to(kFloat64);
  Tensor x = randn({2, 3, 4}, kFloat64);
  Tensor y = (*layer.norm1)(x + layer.self_attn->forward(x, x, x));
  Tensor expected = (*layer.norm2)(y + (*layer.ffn)(y));
  CHECK(max(abs(layer.forward(x) - expected)).item<double>() < 1e-12);
}

TEST_CASE("generation: CausalLM step by step equals the parallel forward at every position") {
  manual_seed(26);
  for (auto kind : kKinds) {
    for (DType dtype : {kFloat64, kFloat32}) {
      nn::TransformerConfig c = tiny_config(kind);
      c.d_model = 8;
      c.decoder_layers = 2;
      c.chunk_size = 16;
      nn::CausalLM model(c);
      model.to(dtype);
      model.eval();
      const std::int64_t N = 40;
      Tensor tokens = randint(0, 7, {2, N});
      Tensor logits = model.forward(tokens);
      nn::DecoderCache cache;
      double worst = 0;
      for (std::int64_t t = 0; t < N; ++t) {
        Tensor step = model.forward_step(tokens.narrow(1, t, 1), cache);
        worst = std::max(worst, max(abs(step - logits.narrow(1, t, 1))).item<double>());
      }
      INFO(nn::attention_kind_name(kind) << " " << dtype);
      CHECK(worst < (dtype == kFloat64 ? 1e-10 : 1e-5));
    }
  }
}

TEST_CASE("generation: Seq2Seq decode_step equals decode, and greedy generation has the right shape") {
  manual_seed(27);
  for (auto kind : kKinds) {
    nn::Seq2SeqTransformer model(tiny_config(kind, true));
    model.to(kFloat64);
    model.eval();
    Tensor src = randint(1, 7, {2, 6}), tgt = randint(1, 7, {2, 5});
    Tensor lengths = from_vector<std::int64_t>({6, 4});
    Tensor memory = model.encode(src, lengths);
    Tensor logits = model.decode(tgt, memory, lengths);
    nn::DecoderCache cache;
    for (std::int64_t t = 0; t < 5; ++t) {
      Tensor step = model.decode_step(tgt.narrow(1, t, 1), memory, cache, lengths);
      CHECK(max(abs(step - logits.narrow(1, t, 1))).item<double>() < 1e-10);
    }
    Tensor generated = nn::generate_greedy(model, src, 0, 4, lengths);
    CHECK(generated.shape() == Shape{2, 4});
    CHECK(model.is_training() == false);
  }
  nn::CausalLM lm(tiny_config(nn::AttentionKind::Linear));
  Tensor out = nn::generate_greedy(lm, from_vector<std::int64_t>({1, 2, 3}, {1, 3}), 5);
  CHECK(out.shape() == Shape{1, 8});
  CHECK(lm.is_training());  // restored
  CHECK(out.narrow(1, 0, 3).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3});
}
