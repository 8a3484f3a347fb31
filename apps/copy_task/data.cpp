// Copy-task batch generation (see data.h).
#include "data.h"

#include <algorithm>
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

PaperLayout paper_layout(std::int64_t seq_len) {
  EMBER_CHECK(seq_len >= kMinPaperSeqLen, "copy task: sequence length {} is below {}", seq_len, kMinPaperSeqLen);
  // main.py draws torch.randint(L // 4, (L - 1) // 2): the upper bound is excluded.
  const std::int64_t min_n = std::max<std::int64_t>(1, seq_len / 4);
  return {seq_len, min_n, std::max(min_n, (seq_len - 1) / 2 - 1)};
}

LmBatch make_lm_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t seq_len,
                      std::int64_t fixed_n) {
  EMBER_CHECK(batch > 0, "copy task: batch {} must be positive", batch);
  const PaperLayout layout = paper_layout(seq_len);
  const std::int64_t L = seq_len;
  EMBER_CHECK(fixed_n >= 0 && 2 * fixed_n + 1 <= L, "copy task: {} copied symbols do not fit in length {}", fixed_n, L);
  const std::int64_t width = std::max(layout.max_n, fixed_n);  // symbols drawn per sequence
  Generator gen = batch_generator(seed, index);
  std::vector<std::int64_t> symbols = randint(1, kSymbols + 1, {batch, width}, kInt64, &gen).to_vector<std::int64_t>();
  std::vector<std::int64_t> lengths =
      fixed_n > 0 ? std::vector<std::int64_t>(batch, fixed_n)
                  : randint(layout.min_n, layout.max_n + 1, {batch}, kInt64, &gen).to_vector<std::int64_t>();
  std::vector<std::int64_t> inputs(batch * L, 0), targets(batch * L, kIgnore);
  LmBatch out;
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t n = lengths[b];
    std::int64_t* x = &inputs[b * L];
    for (std::int64_t i = 0; i < n; ++i) x[i] = x[n + 1 + i] = symbols[b * width + i];  // x[n] stays 0
    for (std::int64_t t = n - 1; t <= 2 * n - 1; ++t) targets[b * L + t] = x[t + 1];  // mask[n-1:2n] = 1
    out.scored += n + 1;
  }
  out.inputs = from_vector(inputs, {batch, L});
  out.targets = from_vector(targets, {batch, L});
  return out;
}

Seq2SeqBatch make_seq2seq_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n) {
  EMBER_CHECK(batch > 0 && n > 0, "copy task: batch {} and sequence length {} must be positive", batch, n);
  Generator gen = batch_generator(seed, index);
  Tensor src = randint(1, kSymbols + 1, {batch, n}, kInt64, &gen);
  Tensor separator = zeros({batch, 1}, kInt64);
  return {src, cat({separator, src}, 1), cat({src, separator}, 1)};
}

NotebookBatch make_notebook_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n) {
  EMBER_CHECK(batch > 0 && n >= kMinNotebookSeqLen,
              "copy task: batch {} must be positive and a notebook sequence needs at least {} tokens, got {}", batch,
              kMinNotebookSeqLen, n);
  Generator gen = batch_generator(seed, index);
  Tensor symbols = randint(1, kSymbols + 1, {batch, n - 2}, kInt64, &gen);
  Tensor tokens = cat({full({batch, 1}, static_cast<double>(kNotebookStart), kInt64), symbols,
                       full({batch, 1}, static_cast<double>(kNotebookEnd), kInt64)},
                      1);
  return {tokens, tokens.narrow(1, 1, n - 1).contiguous()};
}

namespace {
Tensor rows_of(const Tensor& t, Shard shard) {
  EMBER_CHECK(shard.count > 0 && t.size(0) % shard.count == 0,
              "copy task: a batch of {} sequences does not split into {} equal shards", t.size(0), shard.count);
  const std::int64_t rows = t.size(0) / shard.count;
  return t.narrow(0, shard.index * rows, rows).contiguous();
}
}  // namespace

LmBatch shard_of(const LmBatch& global, Shard shard) {
  if (shard.count == 1) return global;
  LmBatch out{rows_of(global.inputs, shard), rows_of(global.targets, shard), 0};
  for (std::int64_t t : out.targets.to_vector<std::int64_t>()) out.scored += t != kIgnore;
  return out;
}

Seq2SeqBatch shard_of(const Seq2SeqBatch& global, Shard shard) {
  if (shard.count == 1) return global;
  return {rows_of(global.src, shard), rows_of(global.tgt_in, shard), rows_of(global.tgt_out, shard)};
}

NotebookBatch shard_of(const NotebookBatch& global, Shard shard) {
  if (shard.count == 1) return global;
  return {rows_of(global.tokens, shard), rows_of(global.targets, shard)};
}

}  // namespace copy_task
