// nn::prefill and nn::generate: the generation loop over any StepModel (see nn/generation.h).
#include "nn/generation.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "nn/prompts.h"
#include "ops/shape_ops.h"

namespace ember::nn {

namespace {

// Entries past each sequence's count become pad_token: tokens int64 (B, T).
Tensor pad_after(const Tensor& tokens, const std::vector<std::int64_t>& counts, std::int64_t pad_token) {
  const std::int64_t B = tokens.size(0), T = tokens.size(1);
  std::vector<std::int64_t> values = tokens.to_vector<std::int64_t>();
  for (std::int64_t b = 0; b < B; ++b)
    std::fill(values.begin() + b * T + counts[static_cast<std::size_t>(b)], values.begin() + (b + 1) * T, pad_token);
  return from_vector(values, {B, T}, TensorOptions(kInt64, tokens.device()));
}

void check_options(const GenerationOptions& options) {
  EMBER_CHECK(options.max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}", options.max_new_tokens);
  check_sampling(options.sampling, "generate");
}

}  // namespace

void prefill(StepModel& model, const Tensor& prompts, const Tensor& lengths, GenerationState& state) {
  const std::int64_t B = static_cast<std::int64_t>(check_prompts(prompts, lengths, "prefill").size());
  EMBER_CHECK(state.empty(), "prefill: the state already holds {} sequences at positions {}; prefill starts a state",
              state.batch_size(), state.lengths);
  NoGradGuard no_grad;
  EvalScope eval(model);
  Tensor logits = model.prefill(prompts, lengths, state);
  EMBER_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == B && state.batch_size() == B,
              "prefill: the model's prefill must return logits (B = {}, vocab) and set the state's {} lengths, got "
              "logits {} and {} lengths",
              B, B, logits.defined() ? logits.shape() : Shape{}, state.batch_size());
  state.next_logits = logits;
  state.finished.assign(static_cast<std::size_t>(B), false);
}

GenerationResult generate(StepModel& model, GenerationState& state, const GenerationOptions& options) {
  check_options(options);
  const std::int64_t B = state.batch_size();
  EMBER_CHECK(B >= 1 && state.next_logits.defined() && state.next_logits.dim() == 2 &&
                  state.next_logits.size(0) == B && static_cast<std::int64_t>(state.finished.size()) == B,
              "generate: the state is not ready: {} sequences, next_logits {}, {} finished flags (prefill it first)", B,
              state.next_logits.defined() ? state.next_logits.shape() : Shape{}, state.finished.size());
  NoGradGuard no_grad;
  EvalScope eval(model);
  Generator& generator = options.generator ? *options.generator : default_generator();
  std::vector<Tensor> chosen;                                   // (B, 1) each
  std::vector<std::int64_t> counts(static_cast<std::size_t>(B), 0);  // new tokens of each sequence
  bool stopped_early = false;  // a sequence made fewer tokens than the result has columns
  for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (std::all_of(state.finished.begin(), state.finished.end(), [](bool f) { return f; })) break;
    Tensor token = choose_next_tokens(state.next_logits, options.sampling, generator);  // (B, 1)
    chosen.push_back(token);
    // Only a stop token needs the values on the host; greedy generation otherwise stays on the device.
    const std::vector<std::int64_t> values =
        options.stop_token ? token.to_vector<std::int64_t>() : std::vector<std::int64_t>{};
    for (std::size_t b = 0; b < counts.size(); ++b) {
      if (state.finished[b]) {
        stopped_early = true;
        continue;
      }
      counts[b] += 1;
      if (options.stop_token && values[b] == *options.stop_token) state.finished[b] = true;
    }
    // Sequences that stopped are fed their token too: the batch steps together, their logits unused.
    state.next_logits = model.forward_step(token, state).select(1, 0);  // (B, vocab)
  }
  GenerationResult result;
  const Device device = state.next_logits.device();
  result.tokens = chosen.empty() ? zeros({B, 0}, TensorOptions(kInt64, device)) : cat(chosen, 1);
  if (stopped_early) result.tokens = pad_after(result.tokens, counts, options.pad_token);
  result.lengths = lengths_tensor(counts, device);
  return result;
}

GenerationResult generate(StepModel& model, const Tensor& prompts, const Tensor& lengths,
                          const GenerationOptions& options) {
  // Refused here, before the prompts' pass, rather than by the generate it leads to.
  check_prompts(prompts, lengths, "generate");
  check_options(options);
  GenerationState state;
  prefill(model, prompts, lengths, state);
  return generate(model, state, options);
}

GenerationResult generate(StepModel& model, const std::vector<Tensor>& prompts, const GenerationOptions& options) {
  const PaddedPrompts padded = pad_prompts(prompts, options.pad_token);
  return generate(model, padded.tokens, padded.lengths, options);
}

}  // namespace ember::nn
