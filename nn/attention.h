// Multi-head attention with a pluggable kind: softmax (scaled dot-product) or linear
// (Katharopoulos et al. 2020), both usable for self- and cross-attention, causal or not, with a
// key-padding mask, and both able to run one position at a time for generation:
//   softmax - a KV cache: keys and values of past positions, one query against all of them;
//   linear  - the RNN form: per head a state S = sum phi(k) v^T (D x M) and Z = sum phi(k) (D),
//             so one token costs O(D M) whatever its position.
// Linear attention's feature maps are modules (nn/feature_maps.h) that each layer makes from its
// options and owns (registered as "feature_map", and "key_feature_map" when the keys have their own).
#pragma once

#include <memory>
#include <optional>

#include "nn/favor.h"
#include "nn/feature_maps.h"
#include "nn/layers.h"

namespace ember::nn {

enum class AttentionKind { Softmax, Linear };

AttentionKind parse_attention_kind(const std::string& name);  // "softmax" | "linear"
std::string attention_kind_name(AttentionKind kind);

struct AttentionOptions {
  AttentionKind kind = AttentionKind::Softmax;
  bool causal = false;
  double dropout = 0.0;  // on the attention weights (softmax kind)
  FeatureMapSpec feature_map = feature_maps::elu_plus_one();  // linear kind: phi of queries, and of keys
  std::optional<FeatureMapSpec> key_feature_map;              // linear kind: phi of keys, when it differs
  double eps = 1e-6;             // linear kind: added to the normaliser
  std::int64_t chunk_size = 0;   // linear kind, causal: chunk of the chunked kernel (0: the device's)
};

// Buffers a self-attention step writes instead of allocating: made on the first step, remade when
// the batch size, dtype or device changes.
struct StepBuffers {
  Tensor qkv;            // (B, 1, 3 * d_model): the new position's query, key and value projections
  Tensor q_rows, k_rows, v_rows;  // (B, 1, d_model) views of qkv
  Tensor q, k, v;        // (B, H, Dh) views of qkv: the heads
  Tensor heads;          // (B, 1, d_model): the attention output, heads side by side
  Tensor heads_split;    // (B, H, Dh) view of heads
};

// What one attention layer remembers between generation steps.
struct AttentionCache {
  Tensor keys, values;   // softmax: (B, H, capacity, Dh), first `length` positions valid
  Tensor state;          // linear: S, (B, H, F, M), F features per key
  Tensor normalizer;     // linear: Z, (B, H, F, 1)
  Tensor key_offset;     // linear, a map with a sequence-wide key stabilizer (FAVOR+): its running value
  std::int64_t length = 0;
  // A batch of right-padded prompts of different lengths (forward_prefill): each sequence's own
  // length, `length` being the longest; empty when every sequence has `length` positions.
  std::vector<std::int64_t> sequence_lengths;
  bool memory_ready = false;  // cross-attention: keys/values (or S, Z) of the memory computed
  StepBuffers buffers;
};

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(std::int64_t d_model, std::int64_t heads, AttentionOptions options = {});

  // query (B, Nq, d_model), key and value (B, Nk, d_model). key_lengths: optional int64 (B), the
  // number of valid (unpadded) keys of each sequence. Causal requires Nq == Nk.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value,
                 const Tensor& key_lengths = {});

  // Generation, no autograd: x (B, 1, d_model) is the newest position. Self-attention appends it
  // to the cache and attends to all positions so far. The projections and the attention write
  // into the cache's buffers; the returned tensor is the step's only allocation (and the cache's
  // growth, which doubles the softmax kind's capacity when it is full).
  Tensor forward_step(const Tensor& x, AttentionCache& cache);
  // Generation's first pass, causal self-attention only, no autograd: x (B, P, d_model) holds
  // right-padded prompts whose first lengths[b] positions are valid (lengths int64 (B), undefined:
  // all P). Returns what forward would, (B, P, d_model) (rows past a length are not meaningful),
  // and fills an empty cache as forward_step would have over each prompt: softmax, the keys and
  // values of the P positions; linear, S and Z summed over each prompt's valid positions only.
  // nn/attention_prefill.cpp.
  Tensor forward_prefill(const Tensor& x, const Tensor& lengths, AttentionCache& cache);
  // Cross-attention of the newest position over a fixed memory (B, Nk, d_model); the memory's
  // keys and values (or S and Z) are computed on the first call and reused.
  Tensor forward_cross_step(const Tensor& x, const Tensor& memory, AttentionCache& cache,
                            const Tensor& memory_lengths = {});
  // Throws ember::Error (naming `who`) unless `cache` is one this layer could have filled for a
  // batch of `batch`: its kind's tensors only, (B, H, positions or features, Dh) shaped, of the
  // layer's dtype and device, lengths within what it holds. For caches read from files; no
  // allocation on success.
  void check_cache(const AttentionCache& cache, std::int64_t batch, const char* who) const;

  const AttentionOptions& options() const { return options_; }
  std::shared_ptr<Linear> q, k, v, out;
  std::shared_ptr<FeatureMap> query_map, key_map;  // the same module unless key_feature_map is set

 private:
  Tensor split_heads(const Tensor& x) const;  // (B, N, H*Dh) -> (B, H, N, Dh), a view
  Tensor merge_heads(const Tensor& x) const;  // (B, H, N, Dh) -> (B, N, H*Dh)
  Tensor softmax_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths);
  Tensor linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths);
  Tensor linear_readout(const Tensor& phi_q, const Tensor& state, const Tensor& normalizer) const;
  // The key map's features of K (B, H, N, Dh) -> (B, H, N, F); with key_lengths (int64 (B)), zero at
  // padded positions, which also stay out of the map's shared constant (stored in `offset`).
  Tensor key_features(const Tensor& K, const Tensor& key_lengths, Tensor& offset);
  void linear_step(const StepBuffers& s, AttentionCache& cache);
  StepBuffers& step_buffers(AttentionCache& cache, const Tensor& x) const;
  void reserve_cache(AttentionCache& cache, std::int64_t B, TensorOptions options) const;
  // The softmax step when the sequences' lengths differ: one step per sequence at its own length.
  void ragged_softmax_step(const StepBuffers& s, AttentionCache& cache) const;

  std::int64_t d_model_, heads_, head_dim_;
  AttentionOptions options_;
};

}  // namespace ember::nn
