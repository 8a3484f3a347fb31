// Attention introspection: what each head of a MultiHeadAttention attends to.
//
// While an AttentionRecorder lives, every MultiHeadAttention::forward run on its thread saves
// detached copies of what its attention matrix is made of, for the layers and heads it was asked
// for; the matrix itself is computed only on demand (attention_matrices), on the CPU in float64:
//   softmax - Q and K after the head split, and the key lengths:
//             A = softmax(Q K^T / sqrt(D)) with the causal and key-padding masks applied
//             (the weights before attention dropout);
//   linear  - phi(Q) and phi(K), padded keys' features already zeroed: the implied matrix
//             A_ij = phi(q_i).phi(k_j) / (sum_j' phi(q_i).phi(k_j') + eps), j, j' <= i when causal,
//             exactly the weights the layer applies to V (its rows sum to 1 - eps / (z_i + eps)).
// Linear attention never forms this N x N matrix while training; nor does this file, unless asked.
//
// Without a recorder nothing is saved: forward checks one thread-local pointer. A recorder belongs
// to the thread that made it, so recording in one thread never affects another; recorders nest
// (the innermost one records) and must be destroyed in reverse order of creation, as scopes are.
//
// "Layer" L means the L-th MultiHeadAttention::forward call made while the recorder lives (from
// 0): in a CausalLM the L-th decoder layer; in a Seq2SeqTransformer the encoder layers, then each
// decoder layer's self-attention and cross-attention in turn. Generation steps record nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/attention.h"

namespace ember::nn {

// Which layers and heads to record; an empty list means all of them.
struct RecordSelection {
  std::vector<std::int64_t> layers;
  std::vector<std::int64_t> heads;
};

// One head of one layer, as forward saw it.
struct AttentionRecord {
  std::int64_t layer = 0, head = 0;
  AttentionKind kind = AttentionKind::Softmax;
  bool causal = false;
  double eps = 0;      // linear: the normaliser's eps
  Tensor queries;      // (B, Nq, D), detached, on the layer's device: Q (softmax) or phi(Q) (linear)
  Tensor keys;         // (B, Nk, D): K or phi(K)
  Tensor key_lengths;  // softmax: int64 (B) valid keys per sequence, or undefined (no padding)
};

class AttentionRecorder {
 public:
  explicit AttentionRecorder(RecordSelection selection = {});
  ~AttentionRecorder();
  AttentionRecorder(const AttentionRecorder&) = delete;
  AttentionRecorder& operator=(const AttentionRecorder&) = delete;

  // This thread's innermost recorder, or null: the one check forward makes.
  static AttentionRecorder* active();

  // Called by MultiHeadAttention::forward, once per call. q, k: (B, H, Nq, D), (B, H, Nk, D).
  void record_softmax(const Tensor& q, const Tensor& k, const Tensor& key_lengths, bool causal);
  void record_linear(const Tensor& phi_q, const Tensor& phi_k, bool causal, double eps);

  // In order of layer, then head.
  const std::vector<AttentionRecord>& records() const { return records_; }
  // The record of (layer, head); throws ember::Error when it was not recorded.
  const AttentionRecord& record(std::int64_t layer, std::int64_t head) const;
  // Attention layers run so far while recording (recorded or not).
  std::int64_t layers_seen() const { return layers_seen_; }

 private:
  void save(AttentionRecord prototype, const Tensor& q, const Tensor& k);

  RecordSelection selection_;
  std::vector<AttentionRecord> records_;
  std::int64_t layers_seen_ = 0;
  AttentionRecorder* outer_;  // the recorder this one hides, restored on destruction
};

// The record's attention matrix for every sequence of the batch: (B, Nq, Nk) float64 on the CPU
// (the saved tensors are copied there first). Rows are queries, columns keys.
Tensor attention_matrices(const AttentionRecord& record);

}  // namespace ember::nn
