// The seed notebook's model (apps/copy_task/notebook_model.h) does what LinTrans.jl did: the
// decoder sees the token it is scored on (no causal mask), only encoder layers 1 and 2 run, the
// position table starts as the notebook's 1-indexed sinusoid and trains, and the loss is summed
// over the batch.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "copy_task/data.h"
#include "copy_task/notebook_model.h"

using namespace ember;
using namespace copy_task;

namespace {

// d_model 16 with 2 heads: linear attention runs 4 sub-heads of 4.
NotebookOptions tiny(nn::AttentionKind kind) {
  return {.d_model = 16, .heads = 2, .layers = 4, .d_ff = 32, .dropout = 0.0, .attention = kind, .positions = 32};
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("notebook model: logits (B, N, 13), Flux-style Linear init, the 1-indexed sinusoid") {
  manual_seed(1);
  NotebookTransformer model(tiny(nn::AttentionKind::Linear));
  Tensor tokens = make_notebook_batch(1, 0, 2, 6).tokens;
  CHECK(model.forward(tokens, tokens).shape() == Shape{2, 6, kNotebookVocab});
  CHECK(model.encoder->size() == 4);
  CHECK(model.decoder->size() == 4);
  // Glorot-uniform weights, zero biases (Flux's Dense).
  const double bound = std::sqrt(6.0 / (16 + kNotebookVocab));
  CHECK(max(abs(model.head->weight)).item<double>() <= bound);
  CHECK(max(abs(model.head->bias)).item<double>() == 0.0);
  // position_embed.jl's PE at d = 4: dims 1..4 of position p are cos(p), sin(p/100), cos(p/100),
  // sin(p/10^4); row r holds position r + 1.
  NotebookTransformer narrow_model({.d_model = 4, .heads = 2, .layers = 1, .d_ff = 8, .positions = 3});
  const std::vector<float> table = narrow_model.position.contiguous().to_vector<float>();
  for (int r = 0; r < 3; ++r) {
    const double p = r + 1;
    CHECK(table[r * 4 + 0] == doctest::Approx(std::cos(p)));
    CHECK(table[r * 4 + 1] == doctest::Approx(std::sin(p / 100)));
    CHECK(table[r * 4 + 2] == doctest::Approx(std::cos(p / 100)));
    CHECK(table[r * 4 + 3] == doctest::Approx(std::sin(p / 1e4)));
  }
  CHECK(narrow_model.position.requires_grad());  // a parameter: Adam trains it
}

TEST_CASE("notebook model: the decoder's output at t changes with the token at t + 1 (the target leaks)") {
  for (auto kind : {nn::AttentionKind::Linear, nn::AttentionKind::Softmax}) {
    CAPTURE(nn::attention_kind_name(kind));
    manual_seed(2);
    NotebookTransformer model(tiny(kind));
    model.eval();
    NoGradGuard no_grad;
    Tensor tokens = from_vector<std::int64_t>({11, 3, 4, 5, 6, 12}, {1, 6});
    Tensor changed = from_vector<std::int64_t>({11, 3, 4, 9, 6, 12}, {1, 6});  // token 3 (0-based) differs
    Tensor memory = model.encode(tokens);
    Tensor a = model.decode(tokens, memory), b = model.decode(changed, memory);  // (1, 6, 13)
    // Output 2 is scored against token 3: it must not see it, and does.
    CHECK(max(abs(a.narrow(1, 2, 1) - b.narrow(1, 2, 1))).item<double>() > 1e-4);
  }
}

TEST_CASE("notebook model: encoder layers 3 and 4 are built but get no gradient; the rest all do") {
  manual_seed(3);
  NotebookTransformer model(tiny(nn::AttentionKind::Linear));
  Tensor tokens = make_notebook_batch(3, 0, 2, 6).tokens;
  notebook_loss(model.forward(tokens, tokens), tokens).backward();
  int unused = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    CAPTURE(name);
    const bool dead = starts_with(name, "encoder.2.") || starts_with(name, "encoder.3.");
    CHECK(p.grad().defined() == !dead);
    unused += dead;
  }
  CHECK(unused > 0);
  // Rows of the position table past the N = 6 positions read get a zero gradient.
  CHECK(max(abs(model.position.grad().narrow(0, 6, 26))).item<double>() == 0.0);
  CHECK(max(abs(model.position.grad().narrow(0, 0, 6))).item<double>() > 0.0);
}

TEST_CASE("notebook loss: cross entropy summed over the batch, averaged over the N - 1 scored positions") {
  // Uniform logits: every scored position costs ln 13 whatever the smoothing, so B = 3 sequences
  // cost 3 ln 13 (Transformer/loss.jl sums over the batch), not ln 13.
  Tensor tokens = make_notebook_batch(4, 0, 3, 5).tokens;
  Tensor logits = zeros({3, 5, kNotebookVocab});
  CHECK(notebook_loss(logits, tokens).item<double>() == doctest::Approx(3 * std::log(13.0)));
  // Only outputs 0..N-2 count: a confident wrong guess at the last position changes nothing.
  logits.narrow(1, 4, 1).select(2, 0).fill_(50.0);
  CHECK(notebook_loss(logits, tokens).item<double>() == doctest::Approx(3 * std::log(13.0)));
}
