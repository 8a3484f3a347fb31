// A batch of prompts for generation: int64 tokens (B, P), right-padded, with each prompt's length
// (B). Every piece of generation (nn::generate, a model's prefill, MultiHeadAttention's
// forward_prefill) reads prompts in this one form and checks them here, so a bad batch is refused
// with the same message wherever it enters.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ember::nn {

// Throws ember::Error naming `who` unless tokens is int64 (B, P) with B, P >= 1 and lengths is
// undefined (every prompt P long) or int64 (B) with every value in [1, P]. Returns the lengths.
std::vector<std::int64_t> check_prompts(const Tensor& tokens, const Tensor& lengths, const char* who);

// The same check of lengths alone, for prompts already embedded as (B, P, ...).
std::vector<std::int64_t> check_prompt_lengths(const Tensor& lengths, std::int64_t B, std::int64_t P, const char* who);

// Lengths as an int64 tensor (B) on `device`: what MultiHeadAttention::forward_prefill takes.
Tensor lengths_tensor(const std::vector<std::int64_t>& lengths, Device device);

struct PaddedPrompts {
  Tensor tokens;   // int64 (B, P), P the longest prompt; each row right-padded
  Tensor lengths;  // int64 (B)
};

// Each prompt's last valid position: x (B, P, D) -> (B, D), row b being x[b, lengths[b] - 1].
Tensor last_positions(const Tensor& x, const std::vector<std::int64_t>& lengths);

// Stacks 1-D int64 prompts (each non-empty) into a right-padded batch on the first prompt's device.
PaddedPrompts pad_prompts(const std::vector<Tensor>& prompts, std::int64_t pad_token = 0);

}  // namespace ember::nn
