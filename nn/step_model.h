// nn::StepModel: the interface a model implements to be generated from with nn::generate
// (nn/generation.h). CausalLM and Seq2SeqTransformer implement it; a model of one's own, built
// from nn layers, does too (tests/test_generation_custom.cpp has a small one).
//
// Two methods, both without autograd and in the module's current mode (nn::generate switches to
// eval for their duration):
//
//   prefill(tokens, lengths, state)  consumes a batch of prompts in ONE parallel pass: tokens
//       int64 (B, P), right-padded, prompt b being its first lengths[b] tokens (lengths int64 (B),
//       undefined: all P). It fills `state` as if each prompt had gone through forward_step token
//       by token: state.lengths = the prompt lengths, every self-attention cache filled
//       (MultiHeadAttention::forward_prefill does a layer's), and returns the logits (B, vocab) of
//       each prompt's last token. `state` comes in with no positions; a model that conditions on
//       more than the prompt (Seq2SeqTransformer's source) receives a state it started itself.
//   forward_step(token, state)  one token per sequence, int64 (B, 1), at each sequence's own
//       position state.lengths[b]; returns the logits (B, 1, vocab) and advances the caches and
//       state.lengths (GenerationState::advance).
//
// Why right padding and per-sequence positions: each prompt keeps the positions it would have
// alone, so a batch generates for each sequence what it would generate alone (left padding would
// shift the positions of the shorter prompts, or need a mask on every step). The cost is that the
// softmax caches of a ragged batch hold one length per sequence (AttentionCache::sequence_lengths)
// and step the sequences one by one; linear attention's S and Z need no length at all.
#pragma once

#include "nn/generation_state.h"
#include "nn/module.h"

namespace ember::nn {

class StepModel : public Module {
 public:
  virtual Tensor prefill(const Tensor& tokens, const Tensor& lengths, GenerationState& state) = 0;
  virtual Tensor forward_step(const Tensor& token, GenerationState& state) = 0;
  // Throws ember::Error naming `who` unless `state` has this model's layout (number of caches,
  // context). GenerationState::load calls it; the default accepts any state.
  virtual void check_state(const GenerationState& /*state*/, const char* /*who*/) const {}
};

}  // namespace ember::nn
