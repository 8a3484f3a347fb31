// GenerationState: everything a model remembers between generation steps, owned in one object so
// that generation can stop, be copied or saved, and resume exactly where it stopped.
//
// It holds one AttentionCache per attention layer (in the order the model chooses: CausalLM layer
// by layer; Seq2SeqTransformer the decoder's self-attention caches, then its cross-attention
// caches), each sequence's position, the logits for each sequence's next token, which sequences
// have met the stop token, and named context tensors (Seq2SeqTransformer: the encoder's "memory"
// and "memory_lengths"). A model fills it through nn::StepModel (nn/step_model.h); nn::generate
// reads and advances it.
//
// Copies: a GenerationState copied with `=` shares its tensors, and a step writes the caches in
// place, so two copies would corrupt each other; clone() is the independent copy.
//
// On disk: save() writes a safetensors file (nn/serialize.h) through a temporary name and a rename,
// tensors "cache.<i>.keys" / ".values" (softmax, the valid positions only), "cache.<i>.state" /
// ".normalizer" (linear), "cache.<i>.sequence_lengths" (a ragged batch), "lengths", "finished",
// "next_logits", "context.<name>", and the caches' scalars in the metadata. load() validates all
// of it and puts the tensors on the model's device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/attention.h"
#include "nn/state_dict.h"

namespace ember::nn {

class StepModel;

class GenerationState {
 public:
  std::vector<AttentionCache> caches;
  std::vector<std::int64_t> lengths;  // (B): positions each sequence has consumed, prompt included
  Tensor next_logits;                 // (B, vocab): the prediction of each sequence's next token
  std::vector<bool> finished;         // (B): the sequence produced the stop token
  StateDict context;                  // the model's other per-sequence tensors, batch first
  // Set when a model's pass over its layers' caches threw part-way (update_caches): some caches
  // then hold one position more than others, so prepare() and save() refuse the state from then on.
  bool damaged = false;

  std::int64_t batch_size() const { return static_cast<std::int64_t>(lengths.size()); }
  bool empty() const { return lengths.empty(); }
  // A fresh state gets `batch` sequences at position 0 and `cache_count` empty caches; a started
  // one must already have them (ember::Error naming `who` otherwise).
  void prepare(std::int64_t batch, std::size_t cache_count, const char* who);
  void advance();  // every sequence one position further
  // Runs `pass`, a model's step or prefill over its layers' caches; if it throws, marks the state
  // damaged before the exception goes on.
  template <typename Pass>
  void update_caches(Pass&& pass) {
    try {
      pass();
    } catch (...) {
      damaged = true;
      throw;
    }
  }

  GenerationState clone() const;
  void save(const std::string& path) const;
  // Reads what save() wrote, checks it (and, through StepModel::check_state, that it fits
  // `model`), and moves it to the model's device.
  static GenerationState load(const std::string& path, const StepModel& model);
};

}  // namespace ember::nn
