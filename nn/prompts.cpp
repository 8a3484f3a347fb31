// Checking and padding prompt batches for generation.
#include "nn/prompts.h"

#include <algorithm>

#include "core/error.h"
#include "core/factory.h"
#include "ops/embedding.h"

namespace ember::nn {

std::vector<std::int64_t> check_prompts(const Tensor& tokens, const Tensor& lengths, const char* who) {
  EMBER_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == kInt64,
              "{}: expected int64 prompt tokens (B, P), got {} {}", who, tokens.defined() ? tokens.dtype() : kInt64,
              tokens.defined() ? tokens.shape() : Shape{});
  const std::int64_t B = tokens.size(0), P = tokens.size(1);
  EMBER_CHECK(B >= 1 && P >= 1, "{}: empty prompt batch {}: need at least one prompt of at least one token", who,
              tokens.shape());
  return check_prompt_lengths(lengths, B, P, who);
}

std::vector<std::int64_t> check_prompt_lengths(const Tensor& lengths, std::int64_t B, std::int64_t P, const char* who) {
  if (!lengths.defined()) return std::vector<std::int64_t>(static_cast<std::size_t>(B), P);
  EMBER_CHECK(lengths.dtype() == kInt64 && lengths.shape() == Shape{B},
              "{}: prompt lengths must be int64 of shape [{}], got {} {}", who, B, lengths.dtype(), lengths.shape());
  std::vector<std::int64_t> values = lengths.to_vector<std::int64_t>();
  for (std::size_t b = 0; b < values.size(); ++b)
    EMBER_CHECK(values[b] >= 1 && values[b] <= P, "{}: prompt {} has length {}, outside [1, {}] (prompts of {} tokens)",
                who, b, values[b], P, P);
  return values;
}

Tensor lengths_tensor(const std::vector<std::int64_t>& lengths, Device device) {
  return from_vector(lengths, {static_cast<std::int64_t>(lengths.size())}, TensorOptions(kInt64, device));
}

Tensor last_positions(const Tensor& x, const std::vector<std::int64_t>& lengths) {
  EMBER_CHECK(x.defined() && x.dim() == 3 && x.size(0) == static_cast<std::int64_t>(lengths.size()),
              "last_positions: expected x (B, P, D) with B = {} lengths, got {}", lengths.size(),
              x.defined() ? x.shape() : Shape{});
  const std::int64_t B = x.size(0), P = x.size(1);
  std::vector<std::int64_t> rows;
  for (std::int64_t b = 0; b < B; ++b) rows.push_back(b * P + lengths[static_cast<std::size_t>(b)] - 1);
  // embedding() gathers rows of a table: here the (B * P, D) table of every position.
  return embedding(x.reshape({B * P, x.size(2)}).contiguous(),
                   from_vector(rows, {B}, TensorOptions(kInt64, x.device())));
}

PaddedPrompts pad_prompts(const std::vector<Tensor>& prompts, std::int64_t pad_token) {
  EMBER_CHECK(!prompts.empty(), "pad_prompts: no prompts");
  std::int64_t longest = 0;
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    const Tensor& p = prompts[b];
    EMBER_CHECK(p.defined() && p.dim() == 1 && p.dtype() == kInt64 && p.numel() >= 1,
                "pad_prompts: prompt {} must be a non-empty 1-D int64 tensor, got {} {}", b,
                p.defined() ? p.dtype() : kInt64, p.defined() ? p.shape() : Shape{});
    longest = std::max(longest, p.numel());
  }
  const auto B = static_cast<std::int64_t>(prompts.size());
  const Device device = prompts[0].device();
  PaddedPrompts padded{full({B, longest}, static_cast<double>(pad_token), TensorOptions(kInt64, device)), {}};
  std::vector<std::int64_t> lengths;
  for (std::int64_t b = 0; b < B; ++b) {
    const Tensor& p = prompts[static_cast<std::size_t>(b)];
    padded.tokens.select(0, b).narrow(0, 0, p.numel()).copy_(p);
    lengths.push_back(p.numel());
  }
  padded.lengths = lengths_tensor(lengths, device);
  return padded;
}

}  // namespace ember::nn
