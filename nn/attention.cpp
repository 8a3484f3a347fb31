// MultiHeadAttention: projections, the two attention kinds, masks, and the generation caches.
#include "nn/attention.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "nn/attention_inspection.h"
#include "ops/elementwise.h"
#include "ops/attention_step.h"
#include "ops/linear.h"
#include "ops/linear_attention.h"
#include "ops/matmul.h"
#include "ops/random.h"
#include "ops/reduce.h"
#include "ops/sdpa.h"
#include "ops/shape_ops.h"
#include "ops/view.h"

namespace ember::nn {

AttentionKind parse_attention_kind(const std::string& name) {
  if (name == "softmax") return AttentionKind::Softmax;
  if (name == "linear") return AttentionKind::Linear;
  fail("attention kind must be 'softmax' or 'linear', got '{}'", name);
}

std::string attention_kind_name(AttentionKind kind) {
  return kind == AttentionKind::Softmax ? "softmax" : "linear";
}

MultiHeadAttention::MultiHeadAttention(std::int64_t d_model, std::int64_t heads, AttentionOptions options)
    : d_model_(d_model), heads_(heads), options_(std::move(options)) {
  EMBER_CHECK(heads > 0 && d_model > 0 && d_model % heads == 0,
              "MultiHeadAttention: d_model {} must be a positive multiple of heads {}", d_model, heads);
  head_dim_ = d_model / heads;
  q = register_module("q", std::make_shared<Linear>(d_model, d_model));
  k = register_module("k", std::make_shared<Linear>(d_model, d_model));
  v = register_module("v", std::make_shared<Linear>(d_model, d_model));
  out = register_module("out", std::make_shared<Linear>(d_model, d_model));
  if (options_.kind == AttentionKind::Linear) {
    query_map = register_module("feature_map", options_.feature_map.make(head_dim_));
    key_map = options_.key_feature_map ? register_module("key_feature_map", options_.key_feature_map->make(head_dim_))
                                       : query_map;
  }
}

Tensor MultiHeadAttention::split_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), heads_, head_dim_}).transpose(1, 2);
}

Tensor MultiHeadAttention::merge_heads(const Tensor& x) const {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), d_model_});
}

Tensor MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const Tensor& key_lengths) {
  EMBER_CHECK(query.defined() && key.defined() && value.defined(),
              "MultiHeadAttention: undefined query, key or value");
  EMBER_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3 && query.size(2) == d_model_ &&
                  key.shape() == value.shape() && key.size(2) == d_model_ && key.size(0) == query.size(0),
              "MultiHeadAttention: expected query (B, Nq, {0}) and key = value (B, Nk, {0}), got {1}, {2}, {3}",
              d_model_, query.shape(), key.shape(), value.shape());
  EMBER_CHECK(!options_.causal || query.size(1) == key.size(1),
              "MultiHeadAttention: causal attention needs as many queries as keys, got {} and {}",
              query.size(1), key.size(1));
  EMBER_CHECK(!key_lengths.defined() || (key_lengths.dtype() == kInt64 && key_lengths.shape() == Shape{key.size(0)}),
              "MultiHeadAttention: key_lengths must be int64 of shape [{}], got {} {}", key.size(0),
              key_lengths.dtype(), key_lengths.shape());
  Tensor Q = split_heads(q->forward(query)), K = split_heads(k->forward(key)), V = split_heads(v->forward(value));
  if (AttentionRecorder* recorder = AttentionRecorder::active(); recorder && options_.kind == AttentionKind::Softmax)
    recorder->record_softmax(Q, K, key_lengths, options_.causal);
  Tensor heads = options_.kind == AttentionKind::Softmax ? softmax_attention(Q, K, V, key_lengths)
                                                         : linear_attention(Q, K, V, key_lengths);
  return out->forward(merge_heads(heads));
}

Tensor MultiHeadAttention::softmax_attention(const Tensor& Q, const Tensor& K, const Tensor& V,
                                             const Tensor& key_lengths) {
  SdpaOptions sdpa;
  sdpa.causal = options_.causal;
  sdpa.dropout_p = is_training() ? options_.dropout : 0.0;
  sdpa.key_lengths = key_lengths;
  return scaled_dot_product_attention(Q, K, V, sdpa);  // (B, H, Nq, Dh)
}

Tensor MultiHeadAttention::key_features(const Tensor& K, const Tensor& key_lengths, Tensor& offset) {
  if (!key_lengths.defined()) return key_map->forward_keys(K);
  const std::int64_t Nk = K.size(2);
  const Tensor positions = arange(Nk, TensorOptions(kInt64, key_lengths.device()));
  const Tensor valid =  // (B, 1, Nk, 1): 1 at a sequence's positions, 0 at padding
      lt(positions.reshape({1, Nk}), key_lengths.reshape({-1, 1})).reshape({-1, 1, Nk, 1}).to(K.dtype());
  return key_map->forward_valid_keys(K, valid, offset);
}

Tensor MultiHeadAttention::linear_attention(const Tensor& Q, const Tensor& K, const Tensor& V,
                                            const Tensor& key_lengths) {
  LinearAttentionOptions linear;  // no key_lengths: key_features has zeroed the padded keys already
  linear.causal = options_.causal;
  linear.eps = options_.eps;
  linear.chunk_size = options_.chunk_size;
  Tensor unused_offset;
  const Tensor phi_q = query_map->forward(Q);                             // (B, H, N, F)
  const Tensor phi_k = key_features(K, key_lengths, unused_offset);       // (B, H, N, F)
  if (AttentionRecorder* recorder = AttentionRecorder::active())
    recorder->record_linear(phi_q, phi_k, options_.causal, options_.eps);
  return ember::linear_attention(phi_q, phi_k, V, linear);
}

Tensor MultiHeadAttention::linear_readout(const Tensor& phi_q, const Tensor& state, const Tensor& normalizer) const {
  return matmul(phi_q, state) / (matmul(phi_q, normalizer) + options_.eps);
}

StepBuffers& MultiHeadAttention::step_buffers(AttentionCache& cache, const Tensor& x) const {
  StepBuffers& s = cache.buffers;
  const std::int64_t B = x.size(0);
  if (s.qkv.defined() && s.qkv.size(0) == B && s.qkv.dtype() == x.dtype() && s.qkv.device() == x.device()) return s;
  const TensorOptions options(x.dtype(), x.device());
  s.qkv = empty({B, 1, 3 * d_model_}, options);
  s.q_rows = s.qkv.narrow(2, 0, d_model_);
  s.k_rows = s.qkv.narrow(2, d_model_, d_model_);
  s.v_rows = s.qkv.narrow(2, 2 * d_model_, d_model_);
  const Tensor parts = s.qkv.view({B, 3, heads_, head_dim_});  // (B, q|k|v, H, Dh)
  s.q = parts.select(1, 0);
  s.k = parts.select(1, 1);
  s.v = parts.select(1, 2);
  s.heads = empty({B, 1, d_model_}, options);
  s.heads_split = s.heads.view({B, heads_, head_dim_});
  return s;
}

void MultiHeadAttention::reserve_cache(AttentionCache& cache, std::int64_t B, TensorOptions options) const {
  if (cache.keys.defined() && cache.length < cache.keys.size(2) && cache.keys.is_contiguous() &&
      cache.values.is_contiguous())
    return;
  // Double the capacity so growth is amortised O(1) copies per position.
  const std::int64_t capacity = std::max<std::int64_t>(64, 2 * (cache.length + 1));
  Tensor keys = zeros({B, heads_, capacity, head_dim_}, options), values = zeros({B, heads_, capacity, head_dim_}, options);
  if (cache.length > 0) {
    keys.narrow(2, 0, cache.length).copy_(cache.keys.narrow(2, 0, cache.length));
    values.narrow(2, 0, cache.length).copy_(cache.values.narrow(2, 0, cache.length));
  }
  cache.keys = keys;
  cache.values = values;
}

Tensor MultiHeadAttention::forward_step(const Tensor& x, AttentionCache& cache) {
  NoGradGuard no_grad;
  EMBER_CHECK(x.defined() && x.dim() == 3 && x.size(1) == 1 && x.size(2) == d_model_,
              "MultiHeadAttention::forward_step: expected (B, 1, {}), got {}", d_model_,
              x.defined() ? x.shape() : Shape{});
  StepBuffers& s = step_buffers(cache, x);
  linear_out(x, q->weight, q->bias, s.q_rows);
  linear_out(x, k->weight, k->bias, s.k_rows);
  linear_out(x, v->weight, v->bias, s.v_rows);
  const TensorOptions options(x.dtype(), x.device());
  if (options_.kind == AttentionKind::Softmax) {
    reserve_cache(cache, x.size(0), options);
    if (cache.sequence_lengths.empty())
      softmax_attention_step(s.q, s.k, s.v, cache.keys, cache.values, cache.length, s.heads_split);
    else
      ragged_softmax_step(s, cache);
  } else {
    linear_step(s, cache);
  }
  cache.length += 1;
  for (std::int64_t& length : cache.sequence_lengths) length += 1;
  Tensor y = empty({x.size(0), 1, d_model_}, options);
  linear_out(s.heads, out->weight, out->bias, y);
  return y;
}

void MultiHeadAttention::linear_step(const StepBuffers& s, AttentionCache& cache) {
  const std::int64_t B = s.q.size(0);
  const TensorOptions options(s.q.dtype(), s.q.device());
  auto reserve_state = [&](std::int64_t features) {
    if (!cache.state.defined()) {
      cache.state = zeros({B, heads_, features, head_dim_}, options);
      cache.normalizer = zeros({B, heads_, features, 1}, options);
    } else if (!cache.state.is_contiguous() || !cache.normalizer.is_contiguous()) {
      cache.state = cache.state.contiguous();
      cache.normalizer = cache.normalizer.contiguous();
    }
  };
  const auto formula = query_map->formula();
  if (formula && key_map == query_map) {  // elu+1 or relu: applied inside the step kernel
    reserve_state(head_dim_);
    linear_attention_step(s.q, s.k, s.v, cache.state, cache.normalizer, s.heads_split, *formula, options_.eps);
    return;
  }
  const Tensor phi_q = query_map->forward(s.q);  // (B, H, F)
  reserve_state(phi_q.size(-1));  // before the key map's step, which may rescale the sums
  const Tensor phi_k = key_map->forward_key_step(s.k, cache.key_offset, {cache.state, cache.normalizer});
  linear_attention_step(phi_q.contiguous(), phi_k.contiguous(), s.v, cache.state, cache.normalizer, s.heads_split,
                        StepFeatureMap::Identity, options_.eps);
}

Tensor MultiHeadAttention::forward_cross_step(const Tensor& x, const Tensor& memory, AttentionCache& cache,
                                              const Tensor& memory_lengths) {
  NoGradGuard no_grad;
  EMBER_CHECK(x.defined() && x.dim() == 3 && x.size(1) == 1 && x.size(2) == d_model_,
              "MultiHeadAttention::forward_cross_step: expected (B, 1, {}), got {}", d_model_,
              x.defined() ? x.shape() : Shape{});
  EMBER_CHECK(cache.memory_ready || (memory.defined() && memory.dim() == 3 && memory.size(2) == d_model_),
              "MultiHeadAttention::forward_cross_step: expected a memory (B, Nk, {}), got {}", d_model_,
              memory.defined() ? memory.shape() : Shape{});
  if (!cache.memory_ready) {
    Tensor K = split_heads(k->forward(memory)), V = split_heads(v->forward(memory));
    if (options_.kind == AttentionKind::Softmax) {
      cache.keys = K.contiguous();
      cache.values = V.contiguous();
      cache.length = K.size(2);
    } else {
      Tensor unused_offset;
      const Tensor phi_k = key_features(K, memory_lengths, unused_offset);
      cache.state = matmul(phi_k.transpose(-1, -2), V);
      cache.normalizer = sum(phi_k, {2}).unsqueeze(-1);
    }
    cache.memory_ready = true;
  }
  Tensor Q = split_heads(q->forward(x));
  Tensor heads = options_.kind == AttentionKind::Softmax
                     ? softmax_attention(Q, cache.keys, cache.values, memory_lengths)
                     : linear_readout(query_map->forward(Q), cache.state, cache.normalizer);
  return out->forward(merge_heads(heads));
}

}  // namespace ember::nn
