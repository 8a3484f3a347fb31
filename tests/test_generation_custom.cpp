// A model of one's own, built from nn layers, implementing nn::StepModel: token and learned
// position embeddings, one causal attention layer with a residual, an output head. It is also the
// example of the interface: prefill runs the prompt in one pass through forward_prefill and keeps
// each prompt's last position; forward_step embeds each sequence at its own position.
#include <unistd.h>

#include <filesystem>

#include "helpers.h"

using namespace ember;

namespace {

class TinyLM : public nn::StepModel {
 public:
  TinyLM(nn::AttentionKind kind, std::int64_t vocab, std::int64_t d_model, std::int64_t max_positions) {
    nn::AttentionOptions options;
    options.kind = kind;
    options.causal = true;
    token_ = register_module("token", std::make_shared<nn::Embedding>(vocab, d_model));
    position_ = register_module("position", std::make_shared<nn::Embedding>(max_positions, d_model));
    attention_ = register_module("attention", std::make_shared<nn::MultiHeadAttention>(d_model, 2, options));
    head_ = register_module("head", std::make_shared<nn::Linear>(d_model, vocab));
  }

  // tokens (B, N) -> logits (B, N, vocab), no cache: the reference.
  Tensor forward(const Tensor& tokens) {
    Tensor x = embed(tokens, arange(tokens.size(1)).reshape({1, -1}).expand(tokens.shape()).contiguous());
    return head_->forward(x + attention_->forward(x, x, x));
  }

  Tensor prefill(const Tensor& tokens, const Tensor& lengths, nn::GenerationState& state) override {
    const std::vector<std::int64_t> prompt_lengths = nn::check_prompts(tokens, lengths, "TinyLM::prefill");
    state.prepare(tokens.size(0), 1, "TinyLM::prefill");
    Tensor x = embed(tokens, arange(tokens.size(1)).reshape({1, -1}).expand(tokens.shape()).contiguous());
    Tensor y = x + attention_->forward_prefill(x, lengths, state.caches[0]);  // (B, P, d_model)
    state.lengths = prompt_lengths;
    return head_->forward(nn::last_positions(y, prompt_lengths));  // (B, vocab)
  }

  Tensor forward_step(const Tensor& token, nn::GenerationState& state) override {
    state.prepare(token.size(0), 1, "TinyLM::forward_step");
    Tensor x = embed(token, from_vector(state.lengths, {token.size(0), 1}));  // each sequence at its own position
    Tensor y = x + attention_->forward_step(x, state.caches[0]);
    state.advance();
    return head_->forward(y);  // (B, 1, vocab)
  }

 private:
  Tensor embed(const Tensor& tokens, const Tensor& positions) {
    return token_->forward(tokens) + position_->forward(positions);
  }
  std::shared_ptr<nn::Embedding> token_, position_;
  std::shared_ptr<nn::MultiHeadAttention> attention_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace

TEST_CASE("generate: a model of one's own implementing StepModel generates a ragged batch as a full forward would") {
  for (auto kind : {nn::AttentionKind::Softmax, nn::AttentionKind::Linear}) {
    INFO(nn::attention_kind_name(kind));
    manual_seed(50);
    TinyLM model(kind, 9, 8, 32);
    model.to(kFloat64);
    const std::vector<std::vector<std::int64_t>> prompts{{1, 2, 3, 4}, {5}, {6, 7, 8}};
    std::vector<Tensor> rows;
    for (const auto& p : prompts) rows.push_back(from_vector(p, {static_cast<std::int64_t>(p.size())}));
    nn::GenerationOptions options;
    options.max_new_tokens = 6;
    const nn::GenerationResult result = nn::generate(model, rows, options);
    // Reference: each prompt alone, the whole sequence so far through forward() at every step.
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      std::vector<std::int64_t> sequence = prompts[b];
      for (int i = 0; i < 6; ++i) {
        Tensor logits = model.forward(from_vector(sequence, {1, static_cast<std::int64_t>(sequence.size())}));
        sequence.push_back(argmax(logits.select(1, logits.size(1) - 1), -1).item<std::int64_t>());
      }
      CHECK(result.tokens.select(0, static_cast<std::int64_t>(b)).to_vector<std::int64_t>() ==
            std::vector<std::int64_t>(sequence.end() - 6, sequence.end()));
    }
    // Its state saves and resumes like a built-in model's.
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("ember_custom_state_" + std::to_string(::getpid()) + ".safetensors")).string();
    nn::GenerationState state;
    const nn::PaddedPrompts padded = nn::pad_prompts(rows);
    nn::prefill(model, padded.tokens, padded.lengths, state);
    options.max_new_tokens = 2;
    nn::generate(model, state, options);
    state.save(path);
    nn::GenerationState loaded = nn::GenerationState::load(path, model);
    std::filesystem::remove(path);
    options.max_new_tokens = 4;
    CHECK(nn::generate(model, loaded, options).tokens.to_vector<std::int64_t>() ==
          result.tokens.narrow(1, 2, 4).contiguous().to_vector<std::int64_t>());
  }
}
