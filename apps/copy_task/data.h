// Copy-task data. Symbols are 1..10; 0 is the separator and the padding (vocabulary 11).
//
// Paper protocol (decoder-only), the layout of the authors' causal-copy/main.py: every sequence
// has the same length L (--seq-len; 128 at full scale) and copies n symbols, n drawn per sequence
// from [L/4, (L-1)/2 - 1] (32..62 for L = 128):
//
//   position  0 .. n-1   n   n+1 .. 2n   2n+1 .. L-1
//   input     s_1..s_n   0   s_1..s_n    0 ... 0          (no leading separator)
//   target    the input shifted left by one, 0 at L-1
//   scored    targets n-1 .. 2n-1: the first separator and the n copied symbols
//
// The closing separator and the padding are not scored, so a model trained this way need not
// learn where the copy stops; greedy evaluation checks the n copied symbols only. The small
// scale uses the same rule at a shorter L. For L = 3 and 4 the authors' range is empty; there n
// is 1 (the integration tests use such tiny runs).
//
// Seed protocol (encoder-decoder): the encoder reads [s_1..s_n]; the decoder reads
// [0, s_1..s_n] and must emit [s_1..s_n, 0]; n is fixed per run.
//
// Seed protocol, --variant notebook: what the seed study's notebook (LinTrans.jl) ran. Its own
// vocabulary of 13 (0 unknown, 1..10 symbols, 11 start, 12 end, :41-46); a sequence of N tokens
// is [11, s_1..s_{N-2}, 12] (:51, :56), so N counts the start and end and N - 2 symbols are
// copied. The encoder reads it, the decoder reads the same sequence whole, and the loss compares
// the decoder's outputs at positions 1..N-1 with tokens 2..N (label[2:end] vs probs[1:end-1],
// :559-561; 1-indexed as Julia counts).
//
// Batches come from a counter-based generator keyed by (seed, step), so batch t is the same
// whether or not the run was interrupted and resumed, and whatever the number of processes: under
// `mpirun -np K` every rank draws the same global batch and trains on its shard (rows
// [r B/K, (r+1) B/K)), so the run's global data stream does not depend on K.
#pragma once

#include <cstdint>

#include <ember/ember.h>

namespace copy_task {

inline constexpr std::int64_t kSymbols = 10;    // 1..10
inline constexpr std::int64_t kVocab = 11;      // plus the separator 0
inline constexpr std::int64_t kIgnore = -100;   // target that is not scored
inline constexpr std::int64_t kMinPaperSeqLen = 3;  // room for [s, 0, s]

// The notebook variant's vocabulary (LinTrans.jl:41-46).
inline constexpr std::int64_t kNotebookVocab = 13;
inline constexpr std::int64_t kNotebookStart = 11;
inline constexpr std::int64_t kNotebookEnd = 12;
inline constexpr std::int64_t kMinNotebookSeqLen = 3;  // room for [11, s, 12]

// The paper protocol's copied lengths for sequence length seq_len: n in [min_n, max_n].
struct PaperLayout {
  std::int64_t seq_len = 0, min_n = 0, max_n = 0;
};
PaperLayout paper_layout(std::int64_t seq_len);

struct LmBatch {
  ember::Tensor inputs;     // (B, L) int64
  ember::Tensor targets;    // (B, L) int64: inputs shifted left by one; kIgnore where not scored
  std::int64_t scored = 0;  // number of scored targets (sum over the batch of n + 1)
};

struct Seq2SeqBatch {
  ember::Tensor src;      // (B, n)
  ember::Tensor tgt_in;   // (B, n + 1), starts with 0
  ember::Tensor tgt_out;  // (B, n + 1), ends with 0
};

struct NotebookBatch {
  ember::Tensor tokens;   // (B, N): [11, s_1..s_{N-2}, 12], read by the encoder and, whole, by the decoder
  ember::Tensor targets;  // (B, N - 1): tokens[:, 1:], scored against the decoder's outputs [:, :N-1]
};

// One rank's share of a global batch: rows [index * B / count, (index + 1) * B / count).
struct Shard {
  std::int64_t index = 0, count = 1;
};
// The shard's rows (B must be a multiple of shard.count; checked by the config). An LmBatch's
// scored count becomes the shard's.
LmBatch shard_of(const LmBatch& global, Shard shard);
Seq2SeqBatch shard_of(const Seq2SeqBatch& global, Shard shard);
NotebookBatch shard_of(const NotebookBatch& global, Shard shard);

// Batch `index` of the stream identified by seed, in the paper layout of length seq_len; n is
// drawn per sequence from paper_layout(seq_len) (fixed_n > 0 fixes it, as evaluation does).
LmBatch make_lm_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t seq_len,
                      std::int64_t fixed_n = 0);
Seq2SeqBatch make_seq2seq_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n);
// n is the notebook's seq_len: tokens per sequence, start and end included (at least 3).
NotebookBatch make_notebook_batch(std::uint64_t seed, std::uint64_t index, std::int64_t batch, std::int64_t n);

}  // namespace copy_task
