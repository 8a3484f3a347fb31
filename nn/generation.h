// nn::generate: text generation for any nn::StepModel (CausalLM, Seq2SeqTransformer, or a model
// of one's own, see nn/step_model.h), greedy or sampled (nn/sampling.h), over a batch of prompts
// of different lengths, with a stop token.
//
//   GenerationResult r = nn::generate(model, prompts, lengths, {.max_new_tokens = 32});
//
// runs model.prefill over the prompts in one parallel pass, then model.forward_step once per new
// token. The two steps can also be taken apart, which is how generation is stopped and resumed:
//
//   nn::GenerationState state;
//   nn::prefill(model, prompts, lengths, state);
//   nn::generate(model, state, {.max_new_tokens = 8});   // the first 8 tokens
//   state.save("state.safetensors");                      // or state.clone() in memory
//   auto resumed = nn::GenerationState::load("state.safetensors", model);
//   nn::generate(model, resumed, {.max_new_tokens = 8});  // the next 8: as if never stopped
//
// Every token generate chooses is fed back before it returns, so the state always ends ready for
// the next token. A sampled run resumes to the same tokens when its Generator resumes too (save its
// seed() and offset(), restore them with set_state).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nn/sampling.h"
#include "nn/step_model.h"

namespace ember::nn {

struct GenerationOptions {
  std::int64_t max_new_tokens = 32;
  SamplingOptions sampling;               // greedy by default
  std::optional<std::int64_t> stop_token;  // a sequence that produces it stops (the token is kept)
  std::int64_t pad_token = 0;             // fills the result after a sequence's stop
  Generator* generator = nullptr;         // sampling's draws; the thread's default when null
};

struct GenerationResult {
  Tensor tokens;   // int64 (B, T), the new tokens only, T <= max_new_tokens the most any sequence made
  Tensor lengths;  // int64 (B): new tokens of each sequence, its stop token included; pad_token after
};

// Consumes prompts (int64 (B, P), right-padded; lengths int64 (B), undefined: all P) in one
// parallel pass into `state`, which must hold no positions yet (Seq2SeqTransformer: the state its
// start() returned), leaving the next tokens' logits in state.next_logits.
void prefill(StepModel& model, const Tensor& prompts, const Tensor& lengths, GenerationState& state);

// Generates up to options.max_new_tokens per sequence from a prefilled (or loaded) state and
// advances it. Sequences that stopped earlier in this state produce nothing more.
GenerationResult generate(StepModel& model, GenerationState& state, const GenerationOptions& options);

// A fresh state: prefill, then generate.
GenerationResult generate(StepModel& model, const Tensor& prompts, const Tensor& lengths,
                          const GenerationOptions& options);
// Prompts as 1-D int64 tensors of any lengths (padded with options.pad_token).
GenerationResult generate(StepModel& model, const std::vector<Tensor>& prompts, const GenerationOptions& options);

}  // namespace ember::nn
