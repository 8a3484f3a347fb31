// Tiny models of both kinds and both families overfit one fixed copy-task batch: the whole stack
// (embedding, attention, layer norm, cross entropy, backward, Adam) has to be right for this.
// Seeded and deterministic.
#include "nn_helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

nn::TransformerConfig overfit_config(nn::AttentionKind kind) {
  nn::TransformerConfig c;
  c.vocab_size = 11;
  c.d_model = 32;
  c.heads = 4;
  c.d_ff = 64;
  c.encoder_layers = 1;
  c.decoder_layers = 2;
  c.dropout = 0.0;
  c.attention = kind;
  c.cross_attention = kind;
  return c;
}

// Trains for up to max_steps and returns the loss reached.
template <typename LossFn>
double train(nn::Module& model, LossFn loss_fn, int max_steps) {
  optim::Adam adam(model.parameters(), optim::AdamOptions{.lr = 3e-3});
  double loss_value = 0;
  for (int step = 0; step < max_steps; ++step) {
    Tensor loss = loss_fn();
    loss_value = loss.item<double>();
    if (loss_value < 0.01) {
      MESSAGE("converged at step " << step);
      break;
    }
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  return loss_value;
}

const nn::AttentionKind kKinds[] = {nn::AttentionKind::Softmax, nn::AttentionKind::Linear};

}  // namespace

TEST_CASE("overfit: a tiny CausalLM memorises one copy-task batch, both attention kinds") {
  for (auto kind : kKinds) {
    manual_seed(31);
    // [s_1..s_6, 0, s_1..s_6, 0], scored on the copied half and the closing separator.
    const std::int64_t B = 8, n = 6, T = 2 * n + 1;
    Tensor symbols = randint(1, 11, {B, n});
    Tensor sep = zeros({B, 1}, kInt64);
    Tensor seq = cat({symbols, sep, symbols, sep}, 1);
    Tensor inputs = seq.narrow(1, 0, T), targets = seq.narrow(1, 1, T).contiguous();
    Tensor mask = cat({zeros({B, n - 1}, kInt64), ones({B, n + 2}, kInt64)}, 1);
    nn::CausalLM model(overfit_config(kind));
    double loss = train(model, [&] { return nn::masked_cross_entropy(model.forward(inputs), targets, mask); }, 400);
    INFO(nn::attention_kind_name(kind) << " final loss " << loss);
    CHECK(loss < 0.01);
  }
}

TEST_CASE("overfit: a tiny Seq2SeqTransformer memorises one copy-task batch, both attention kinds") {
  for (auto kind : kKinds) {
    manual_seed(32);
    const std::int64_t B = 8, n = 6;
    Tensor src = randint(1, 11, {B, n});
    Tensor sep = zeros({B, 1}, kInt64);
    Tensor tgt_in = cat({sep, src}, 1), tgt_out = cat({src, sep}, 1);
    nn::Seq2SeqTransformer model(overfit_config(kind));
    double loss = train(model, [&] { return cross_entropy(model.forward(src, tgt_in), tgt_out); }, 400);
    INFO(nn::attention_kind_name(kind) << " final loss " << loss);
    CHECK(loss < 0.01);
  }
}
