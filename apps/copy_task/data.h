// Copy-task data. Symbols are 1..10; 0 is the separator (and padding).
//
// Paper protocol (decoder-only): each sequence is [s_1..s_n, 0, s_1..s_n, 0] with n drawn per
// sequence from 1..max_len; the model reads it shifted by one and is scored only on the copied
// half, i.e. the n copied symbols plus the closing separator (so it must learn where to stop).
// Seed protocol (encoder-decoder): the encoder reads [s_1..s_n]; the decoder reads
// [0, s_1..s_n] and must emit [s_1..s_n, 0]; n is fixed per run.
//
// Batches come from a counter-based generator keyed by (seed, step), so batch t is the same
// whether or not the run was interrupted and resumed.
#pragma once

#include <cstdint>

#include <ember/ember.h>

namespace copy_task {

inline constexpr std::int64_t kSymbols = 10;    // 1..10
inline constexpr std::int64_t kVocab = 11;      // plus the separator 0
inline constexpr std::int64_t kIgnore = -100;   // target that is not scored

struct LmBatch {
  ember::Tensor inputs;   // (B, 2 max_len + 1) int64
  ember::Tensor targets;  // (B, 2 max_len + 1) int64, kIgnore outside the copied half
  std::int64_t scored = 0;  // number of scored targets
};

struct Seq2SeqBatch {
  ember::Tensor src;      // (B, n)
  ember::Tensor tgt_in;   // (B, n + 1), starts with 0
  ember::Tensor tgt_out;  // (B, n + 1), ends with 0
};

// Batch `index` of the stream identified by seed. n is drawn per sequence in [1, max_len]
// (fixed_n > 0 fixes it, as evaluation does).
LmBatch make_lm_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t max_len,
                      std::int64_t fixed_n = 0);
Seq2SeqBatch make_seq2seq_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n);

}  // namespace copy_task
