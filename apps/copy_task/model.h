// The copy-task model of either protocol (and of the seed notebook's variant) behind one
// interface: build it from the config, get the loss of a training batch, evaluate by greedy
// generation, and make the batch the timing sweep runs at a given sequence length.
#pragma once

#include <atomic>
#include <memory>

#include "config.h"
#include "data.h"

namespace copy_task {

struct BatchResult {
  // Scalar, with a graph when grad mode is on. For a shard of the global batch, weighted so that
  // the average over the shards is the global batch's loss (and token_acc likewise).
  ember::Tensor loss;
  double token_acc = 0;    // teacher-forced accuracy on the scored targets
  std::int64_t tokens = 0; // tokens the model read
};

struct EvalResult {
  double token_acc = 0;  // over generated tokens (paper: the copy; seed: the copy and its closing separator or end)
  double exact_acc = 0;  // fraction of sequences generated entirely right
  std::int64_t sequences = 0;
  bool interrupted = false;  // stop was requested before every sequence was generated
};

class CopyModel {
 public:
  virtual ~CopyModel() = default;
  // For seq_len: the paper protocol's sequence length L, the seed protocol's copied length, or the
  // notebook variant's tokens per sequence N (start and end included).
  static std::unique_ptr<CopyModel> create(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len);

  virtual ember::nn::Module& module() = 0;
  // Training batch `index` of the stream seeded by data_seed, or this rank's shard of it.
  virtual BatchResult train_batch(std::uint64_t data_seed, std::uint64_t index, Shard shard = {}) = 0;
  // Greedy generation (RNN state for linear attention, KV cache for softmax; the notebook variant
  // re-runs its non-causal decoder on the prefix) on held-out data, one batch at a time; returns
  // early, marked interrupted, once `stop` is set.
  virtual EvalResult evaluate(std::uint64_t eval_seed, std::int64_t sequences, const std::atomic<bool>& stop) = 0;
  // Loss of one random batch whose sequences are n tokens long (the sweep times fwd + bwd of it).
  virtual ember::Tensor sweep_loss(std::int64_t n, std::int64_t batch) = 0;
};

}  // namespace copy_task
