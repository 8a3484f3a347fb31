// Transformer layers and models: gradient checks, layer composition, and recurrent generation
// (RNN state for linear attention, KV cache for softmax) equal to the parallel forward.
#include <set>

#include "loop_reference.h"
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

namespace {

// Random LayerNorm weights and biases (they start as ones and zeros, which would hide a norm that
// ignores them).
void randomize_norms(nn::EncoderLayer& layer) {
  NoGradGuard no_grad;
  for (const auto& norm : {layer.norm1, layer.norm2}) {
    norm->weight.copy_(randn(norm->weight.shape(), kFloat64));
    norm->bias.copy_(randn(norm->bias.shape(), kFloat64));
  }
}

// An encoder layer over (B, N, d) written out in loops, from the layer's own parameters:
//   post-norm: y = LN1(x + attn(x)), out = LN2(y + FFN(y));
//   pre-norm:  y = x + attn(LN1(x)), out = y + FFN(LN2(y)).
std::vector<double> encoder_layer_reference(const nn::EncoderLayer& layer, const nn::TransformerConfig& c,
                                            const Tensor& x, const std::vector<std::int64_t>& lengths) {
  loops::AttentionSpec spec;
  spec.heads = c.heads;
  spec.kind = c.attention;
  std::vector<double> expected;
  for (std::int64_t b = 0; b < x.size(0); ++b) {
    const loops::Matrix xb = loops::matrix_of(x.select(0, b));
    const std::int64_t valid = lengths[static_cast<std::size_t>(b)];
    loops::Matrix out;
    if (c.norm_first) {
      const loops::Matrix h = loops::layer_norm(layer, "norm1.", xb);
      const loops::Matrix y = loops::add(xb, loops::attention(layer, "self_attn.", h, h, spec, valid));
      out = loops::add(y, loops::feed_forward(layer, "ffn.", loops::layer_norm(layer, "norm2.", y), c.activation));
    } else {
      const loops::Matrix attn = loops::attention(layer, "self_attn.", xb, xb, spec, valid);
      const loops::Matrix y = loops::layer_norm(layer, "norm1.", loops::add(xb, attn));
      out = loops::layer_norm(layer, "norm2.", loops::add(y, loops::feed_forward(layer, "ffn.", y, c.activation)));
    }
    loops::append(expected, out);
  }
  return expected;
}

}  // namespace

TEST_CASE("transformer: a post-norm encoder layer is LN2(y + FFN(y)), y = LN1(x + attn(x)), written out in loops") {
  manual_seed(25);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    nn::TransformerConfig c = tiny_config(kind);
    CHECK(c.activation == nn::Activation::ReLU);  // the default, as in Vaswani et al.
    nn::EncoderLayer layer(c);
    layer.to(kFloat64);
    randomize_norms(layer);
    Tensor x = randn({2, 3, 4}, kFloat64);
    check_values(layer.forward(x), encoder_layer_reference(layer, c, x, {3, 3}), 1e-10);
    // The second sequence has one padded key.
    check_values(layer.forward(x, from_vector<std::int64_t>({3, 2})), encoder_layer_reference(layer, c, x, {3, 2}),
                 1e-10);
  }
}

TEST_CASE("transformer: a pre-norm encoder layer is y + FFN(LN2(y)), y = x + attn(LN1(x)), written out in loops") {
  manual_seed(28);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    nn::TransformerConfig c = tiny_config(kind, true);
    c.activation = nn::Activation::GELU;
    nn::EncoderLayer layer(c);
    layer.to(kFloat64);
    randomize_norms(layer);
    Tensor x = randn({2, 3, 4}, kFloat64);
    check_values(layer.forward(x, from_vector<std::int64_t>({2, 3})), encoder_layer_reference(layer, c, x, {2, 3}),
                 1e-10);
  }
}

TEST_CASE("transformer: PositionMix::ConcatHalf is [token embedding, sinusoid], each half of d_model, unscaled") {
  manual_seed(31);
  nn::TransformerConfig c = tiny_config(nn::AttentionKind::Softmax);
  c.d_model = 6;
  c.position_mix = nn::PositionMix::ConcatHalf;
  nn::TokenEmbedding embed(c);
  CHECK(embed.embedding->weight.shape() == Shape{7, 3});
  Tensor tokens = from_vector<std::int64_t>({4, 0, 6, 4}, {2, 2});
  const std::int64_t start = 5;
  Tensor x = embed.forward(tokens, start);  // (2, 2, 6)
  REQUIRE(x.shape() == Shape{2, 2, 6});
  const std::int64_t token[2][2] = {{4, 0}, {6, 4}};
  const std::vector<float> got = x.to_vector<float>(), weight = embed.embedding->weight.to_vector<float>();
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t n = 0; n < 2; ++n) {
      const float* row = &got[static_cast<std::size_t>((b * 2 + n) * 6)];
      for (std::int64_t i = 0; i < 3; ++i) {
        CHECK(row[i] == weight[static_cast<std::size_t>(token[b][n] * 3 + i)]);
        // sin/cos pairs at frequency 10000^(-2j/3) of position start + n, as in Vaswani et al.
        const double freq = std::exp(-std::log(10000.0) * static_cast<double>(i - i % 2) / 3.0);
        const double angle = static_cast<double>(start + n) * freq;
        CHECK(row[3 + i] == doctest::Approx(i % 2 == 0 ? std::sin(angle) : std::cos(angle)).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("transformer: final_norm adds a LayerNorm after the last post-norm layer; dropouts follow their options") {
  nn::TransformerConfig c = tiny_config(nn::AttentionKind::Softmax);
  c.dropout = 0.25;
  c.attention_dropout = 0.5;
  c.embedding_dropout = 0.0;
  c.final_norm = true;
  nn::CausalLM lm(c);
  CHECK(lm.state_dict().contains("final_norm.weight"));
  nn::Seq2SeqTransformer s2s(c);
  CHECK(s2s.state_dict().contains("encoder_norm.weight"));
  CHECK(s2s.state_dict().contains("decoder_norm.weight"));
  c.final_norm = false;
  CHECK_FALSE(nn::CausalLM(c).state_dict().contains("final_norm.weight"));
  nn::DecoderLayer layer(c, true);
  CHECK(layer.self_attn->options().dropout == 0.5);
  CHECK(layer.cross_attn->options().dropout == 0.5);
  c.attention_dropout.reset();
  CHECK(nn::DecoderLayer(c, false).self_attn->options().dropout == 0.25);
}

TEST_CASE("generation: CausalLM step by step equals the parallel forward at every position") {
  manual_seed(26);
  for (auto [kind, mix] : {std::pair{nn::AttentionKind::Softmax, nn::PositionMix::Add},
                           std::pair{nn::AttentionKind::Linear, nn::PositionMix::Add},
                           std::pair{nn::AttentionKind::Softmax, nn::PositionMix::ConcatHalf},
                           std::pair{nn::AttentionKind::Linear, nn::PositionMix::ConcatHalf}}) {
    for (DType dtype : {kFloat64, kFloat32}) {
      nn::TransformerConfig c = tiny_config(kind);
      c.d_model = 8;
      c.decoder_layers = 2;
      c.chunk_size = 16;
      c.position_mix = mix;
      c.final_norm = mix == nn::PositionMix::ConcatHalf;  // the paper protocol's model
      nn::CausalLM model(c);
      model.to(dtype);
      model.eval();
      const std::int64_t N = 40;
      Tensor tokens = randint(0, 7, {2, N});
      Tensor logits = model.forward(tokens);
      nn::GenerationState cache;
      double worst = 0;
      for (std::int64_t t = 0; t < N; ++t) {
        Tensor step = model.forward_step(tokens.narrow(1, t, 1), cache);
        worst = std::max(worst, max(abs(step - logits.narrow(1, t, 1))).item<double>());
      }
      INFO(nn::attention_kind_name(kind) << " " << dtype << " concat " << (mix == nn::PositionMix::ConcatHalf));
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
    nn::GenerationState cache;
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

namespace {

// The last position's argmax of (B, N, V) logits, per row, picked by a plain loop.
std::vector<std::int64_t> last_argmax(const Tensor& logits) {
  const std::int64_t B = logits.size(0), N = logits.size(1), V = logits.size(2);
  const std::vector<double> values = logits.to_vector<double>();
  std::vector<std::int64_t> picked;
  for (std::int64_t b = 0; b < B; ++b)
    picked.push_back(loops::argmax(values, static_cast<std::size_t>((b * N + N - 1) * V), static_cast<std::size_t>(V)));
  return picked;
}

Tensor tokens_tensor(const std::vector<std::vector<std::int64_t>>& rows) {
  std::vector<std::int64_t> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  const auto B = static_cast<std::int64_t>(rows.size()), N = static_cast<std::int64_t>(rows[0].size());
  return from_vector<std::int64_t>(flat, {B, N});
}

}  // namespace

TEST_CASE("generation: greedy CausalLM tokens are the prompt, then the argmax of a full forward pass at each step") {
  manual_seed(29);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    nn::TransformerConfig c = tiny_config(kind);
    c.d_model = 8;
    c.decoder_layers = 2;
    nn::CausalLM model(c);
    model.to(kFloat64);
    const std::vector<std::vector<std::int64_t>> prompt{{1, 2, 3}, {6, 0, 4}};
    const std::int64_t steps = 8;
    Tensor generated = nn::generate_greedy(model, tokens_tensor(prompt), steps);
    CHECK(model.is_training());
    // Reference: no cache, the whole sequence so far through forward() at every step.
    model.eval();
    std::vector<std::vector<std::int64_t>> expected = prompt;
    std::set<std::int64_t> distinct;
    for (std::int64_t i = 0; i < steps; ++i) {
      const std::vector<std::int64_t> next = last_argmax(model.forward(tokens_tensor(expected)));
      for (std::size_t b = 0; b < expected.size(); ++b) {
        expected[b].push_back(next[b]);
        distinct.insert(next[b]);
      }
    }
    CHECK(generated.shape() == Shape{2, 3 + steps});
    CHECK(generated.to_vector<std::int64_t>() == tokens_tensor(expected).to_vector<std::int64_t>());
    CHECK(distinct.size() >= 2);  // not one token repeated: a sequence that can tell steps apart
  }
}

TEST_CASE("generation: greedy CausalLM continues a counting pattern set by hand") {
  // No layers: logits = head(10 onehot(token) + PE(position)), |PE| <= 1. The head maps coordinate
  // t to logit t + 1 (mod V), so the argmax after token t is t + 1 and generation counts up.
  nn::TransformerConfig c = tiny_config(nn::AttentionKind::Linear);
  c.d_model = 8;
  c.decoder_layers = 0;
  const std::int64_t V = c.vocab_size;
  nn::CausalLM model(c);
  model.to(kFloat64);
  {
    NoGradGuard no_grad;
    for (auto [name, p] : model.named_parameters()) {
      std::vector<double> values(static_cast<std::size_t>(p.numel()), 0.0);
      if (name == "embed.embedding.weight") {  // (V, d), scaled by sqrt(d) in forward
        for (std::int64_t t = 0; t < V; ++t) values[t * c.d_model + t] = 10.0 / std::sqrt(double(c.d_model));
      } else if (name == "head.weight") {  // (V, d)
        for (std::int64_t v = 0; v < V; ++v) values[v * c.d_model + (v + V - 1) % V] = 1.0;
      } else {
        REQUIRE(name == "head.bias");
      }
      p.copy_(from_vector<double>(values, p.shape()));
    }
  }
  Tensor generated = nn::generate_greedy(model, tokens_tensor({{3, 5}, {1, 6}}), 4);
  CHECK(generated.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 5, 6, 0, 1, 2, 1, 6, 0, 1, 2, 3});
  CHECK(nn::generate_greedy(model, tokens_tensor({{4}}), 0).to_vector<std::int64_t>() == std::vector<std::int64_t>{4});
}

TEST_CASE("generation: greedy Seq2Seq tokens are the argmax of a full decode at each step") {
  manual_seed(30);
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    nn::TransformerConfig c = tiny_config(kind, true);
    c.d_model = 8;
    nn::Seq2SeqTransformer model(c);
    model.to(kFloat64);
    model.eval();
    Tensor src = tokens_tensor({{1, 5, 2, 6, 3, 4}, {2, 2, 6, 1, 0, 0}});
    Tensor lengths = from_vector<std::int64_t>({6, 4});
    const std::int64_t start = 0, steps = 7;
    Tensor generated = nn::generate_greedy(model, src, start, steps, lengths);
    // Reference: the whole target so far through decode() at every step, no cache.
    Tensor memory = model.encode(src, lengths);
    std::vector<std::vector<std::int64_t>> target{{start}, {start}};
    std::vector<std::int64_t> expected(2 * steps);
    std::set<std::int64_t> distinct;
    for (std::int64_t i = 0; i < steps; ++i) {
      const std::vector<std::int64_t> next = last_argmax(model.decode(tokens_tensor(target), memory, lengths));
      for (std::size_t b = 0; b < 2; ++b) {
        target[b].push_back(next[b]);
        expected[b * steps + i] = next[b];
        distinct.insert(next[b]);
      }
    }
    CHECK(generated.shape() == Shape{2, steps});
    CHECK(generated.to_vector<std::int64_t>() == expected);
    CHECK(distinct.size() >= 2);
  }
}
