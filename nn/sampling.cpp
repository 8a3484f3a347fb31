// Greedy choice and temperature / top-k / top-p sampling (see nn/sampling.h).
#include "nn/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/factory.h"
#include "ops/reduce.h"

namespace ember::nn {

namespace {

// A uniform double in [0, 1) from 53 bits of one Philox block.
double uniform_from(std::uint64_t seed, std::uint64_t counter) {
  const auto words = philox(seed, counter);
  const std::uint64_t bits = (std::uint64_t{words[0]} << 32 | words[1]) >> 11;
  return static_cast<double>(bits) * 0x1.0p-53;
}

// One row of logits -> a token, given a uniform draw u in [0, 1).
std::int64_t sample_row(const double* logits, std::int64_t V, const SamplingOptions& options, double u) {
  // Token ids by decreasing logit, ties by increasing id (stable), so top_k = 1 is the argmax.
  std::vector<std::int64_t> order(static_cast<std::size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return logits[a] > logits[b]; });
  const std::int64_t kept_by_k = options.top_k > 0 ? std::min(options.top_k, V) : V;
  // Softmax over the kept tokens at the temperature, from the largest logit down.
  std::vector<double> probabilities(static_cast<std::size_t>(kept_by_k));
  const double top = logits[order[0]];
  double total = 0;
  for (std::int64_t i = 0; i < kept_by_k; ++i) {
    probabilities[i] = std::exp((logits[order[i]] - top) / options.temperature);
    total += probabilities[i];
  }
  // Nucleus: the shortest prefix whose probability reaches top_p (at least one token).
  std::int64_t kept = 0;
  double mass = 0;
  while (kept < kept_by_k && (kept == 0 || mass < options.top_p * total)) mass += probabilities[kept++];
  double target = u * mass;
  for (std::int64_t i = 0; i < kept; ++i) {
    target -= probabilities[i];
    if (target < 0) return order[i];
  }
  return order[kept - 1];  // u * mass rounded up to the full mass
}

}  // namespace

void check_sampling(const SamplingOptions& options, const char* who) {
  if (options.decoding == Decoding::Greedy) return;
  EMBER_CHECK(std::isfinite(options.temperature) && options.temperature > 0,
              "{}: temperature must be finite and > 0 when sampling, got {} (use Decoding::Greedy for the argmax)",
              who, options.temperature);
  EMBER_CHECK(options.top_k >= 0, "{}: top_k must be >= 0 (0 keeps every token), got {}", who, options.top_k);
  EMBER_CHECK(options.top_p > 0 && options.top_p <= 1, "{}: top_p must lie in (0, 1], got {}", who, options.top_p);
}

Tensor choose_next_tokens(const Tensor& logits, const SamplingOptions& options, Generator& generator) {
  EMBER_CHECK(logits.defined() && logits.dim() == 2 && logits.size(1) >= 1,
              "choose_next_tokens: expected logits (B, V), got {}", logits.defined() ? logits.shape() : Shape{});
  check_sampling(options, "choose_next_tokens");
  const std::int64_t B = logits.size(0), V = logits.size(1);
  const std::vector<double> values = logits.to_vector<double>();
  // Greedy too: argmax's NaN rule differs between devices, and a NaN row has no next token.
  for (std::int64_t b = 0; b < B; ++b) {
    const double* row = values.data() + b * V;
    EMBER_CHECK(std::none_of(row, row + V, [](double x) { return std::isnan(x); }) &&
                    *std::max_element(row, row + V) > -INFINITY,
                "choose_next_tokens: the logits of sequence {} hold a NaN or are all -inf", b);
  }
  if (options.decoding == Decoding::Greedy) return argmax(logits, -1, /*keepdim=*/true);
  const std::uint64_t first_counter = generator.advance(static_cast<std::uint64_t>(B));
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    const double u = uniform_from(generator.seed(), first_counter + static_cast<std::uint64_t>(b));
    tokens[b] = sample_row(values.data() + b * V, V, options, u);
  }
  return from_vector(tokens, {B, 1}, TensorOptions(kInt64, logits.device()));
}

}  // namespace ember::nn
