// Choosing each sequence's next token from its logits: greedy (the argmax, on the logits' device)
// or sampled (on the CPU) after temperature, top-k and top-p (nucleus) filtering, applied in that
// order as in Hugging Face's generate. Draws come from an ember::Generator, one Philox counter per
// sequence per step, so a seed reproduces the tokens exactly.
#pragma once

#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace ember::nn {

enum class Decoding { Greedy, Sample };

struct SamplingOptions {
  Decoding decoding = Decoding::Greedy;
  double temperature = 1.0;  // Sample: logits / temperature, > 0
  std::int64_t top_k = 0;    // Sample: keep the k most likely tokens; 0 keeps all
  double top_p = 1.0;        // Sample: keep the fewest most likely tokens whose probability reaches top_p, (0, 1]
};

// Throws ember::Error naming `who` and the offending value unless the options are usable.
void check_sampling(const SamplingOptions& options, const char* who);

// logits (B, V) -> int64 (B, 1) on the logits' device. Ties go to the lowest token id.
Tensor choose_next_tokens(const Tensor& logits, const SamplingOptions& options, Generator& generator);

}  // namespace ember::nn
