// Copy-task batch generation (see data.h).
#include "data.h"

#include <vector>

using namespace ember;

namespace copy_task {

namespace {
// Room for every batch's counters: batch `index` owns [index * kStride, (index + 1) * kStride).
constexpr std::uint64_t kStride = std::uint64_t{1} << 32;

Generator batch_generator(std::uint64_t seed, std::uint64_t index) {
  Generator gen(seed);
  gen.set_state(seed, index * kStride);
  return gen;
}
}  // namespace

LmBatch make_lm_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t max_len,
                      std::int64_t fixed_n) {
  EMBER_CHECK(batch > 0 && max_len > 0, "copy task: batch {} and max_len {} must be positive", batch, max_len);
  Generator gen = batch_generator(seed, index);
  std::vector<std::int64_t> symbols = randint(1, kSymbols + 1, {batch, max_len}, kInt64, &gen).to_vector<std::int64_t>();
  std::vector<std::int64_t> lengths = fixed_n > 0 ? std::vector<std::int64_t>(batch, fixed_n)
                                                  : randint(1, max_len + 1, {batch}, kInt64, &gen).to_vector<std::int64_t>();
  const std::int64_t T = 2 * max_len + 1;  // model positions: the sequence minus its last token
  std::vector<std::int64_t> inputs(batch * T, 0), targets(batch * T, kIgnore);
  LmBatch out;
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t n = lengths[b];
    std::vector<std::int64_t> seq(2 * n + 2, 0);  // [s, 0, s, 0]
    for (std::int64_t i = 0; i < n; ++i) seq[i] = seq[n + 1 + i] = symbols[b * max_len + i];
    for (std::int64_t t = 0; t + 1 < static_cast<std::int64_t>(seq.size()); ++t) {
      inputs[b * T + t] = seq[t];
      if (t >= n) {  // predicting seq[t + 1]: a copied symbol or the closing separator
        targets[b * T + t] = seq[t + 1];
        ++out.scored;
      }
    }
  }
  out.inputs = from_vector(inputs, {batch, T});
  out.targets = from_vector(targets, {batch, T});
  return out;
}

Seq2SeqBatch make_seq2seq_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n) {
  EMBER_CHECK(batch > 0 && n > 0, "copy task: batch {} and sequence length {} must be positive", batch, n);
  Generator gen = batch_generator(seed, index);
  Tensor src = randint(1, kSymbols + 1, {batch, n}, kInt64, &gen);
  Tensor separator = zeros({batch, 1}, kInt64);
  return {src, cat({separator, src}, 1), cat({src, separator}, 1)};
}

}  // namespace copy_task
