// MultiHeadAttention for generation over a batch of right-padded prompts: forward_prefill, the one
// parallel pass that fills a layer's cache from whole prompts, the softmax step for a batch whose
// sequences have different lengths, and check_cache for caches read back from a file.
//
// Right padding keeps every prompt's tokens at positions 0 .. length - 1, the positions they have
// alone. Under a causal mask a valid position never sees the padding after it, so the parallel
// output needs no key mask; only what the cache keeps needs care:
//   softmax - keys and values of padded positions sit past each sequence's length; the sequence's
//             next step writes its new key over the first of them, and a step attends only to
//             positions up to its own length, so they are never read;
//   linear  - S and Z are sums, so padded keys are kept out of them with zeroed features.
#include <algorithm>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "nn/attention.h"
#include "nn/prompts.h"
#include "ops/attention_step.h"
#include "ops/elementwise.h"
#include "ops/linear_attention.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/sdpa.h"

namespace ember::nn {

Tensor MultiHeadAttention::forward_prefill(const Tensor& x, const Tensor& lengths, AttentionCache& cache) {
  NoGradGuard no_grad;
  EMBER_CHECK(options_.causal,
              "MultiHeadAttention::forward_prefill: needs causal self-attention (this layer is not causal)");
  EMBER_CHECK(x.defined() && x.dim() == 3 && x.size(2) == d_model_ && x.size(0) >= 1 && x.size(1) >= 1,
              "MultiHeadAttention::forward_prefill: expected x (B, P, {}) with B, P >= 1, got {}", d_model_,
              x.defined() ? x.shape() : Shape{});
  EMBER_CHECK(cache.length == 0 && !cache.keys.defined() && !cache.state.defined(),
              "MultiHeadAttention::forward_prefill: the cache already holds {} positions; prefill starts an empty one",
              cache.length);
  const std::int64_t B = x.size(0), P = x.size(1);
  const std::vector<std::int64_t> sequence_lengths =
      check_prompt_lengths(lengths, B, P, "MultiHeadAttention::forward_prefill");
  // (B, H, P, Dh) each
  const Tensor Q = split_heads(q->forward(x)), K = split_heads(k->forward(x)), V = split_heads(v->forward(x));
  const TensorOptions options(x.dtype(), x.device());
  Tensor heads;  // (B, H, P, Dh)
  if (options_.kind == AttentionKind::Softmax) {
    SdpaOptions sdpa;
    sdpa.causal = true;
    heads = scaled_dot_product_attention(Q, K, V, sdpa);
    // Room for as many new positions again as the prompt, as reserve_cache grows it.
    const std::int64_t capacity = std::max<std::int64_t>(64, 2 * P);
    cache.keys = zeros({B, heads_, capacity, head_dim_}, options);
    cache.values = zeros({B, heads_, capacity, head_dim_}, options);
    cache.keys.narrow(2, 0, P).copy_(K);
    cache.values.narrow(2, 0, P).copy_(V);
  } else {
    // (B, H, P, F), padding zeroed; the same features feed the parallel pass and the cache. The
    // lengths go on x's device, wherever `lengths` lives.
    const Tensor phi_k = key_features(K, lengths_tensor(sequence_lengths, x.device()), cache.key_offset);
    LinearAttentionOptions linear;
    linear.causal = true;
    linear.eps = options_.eps;
    linear.chunk_size = options_.chunk_size;
    heads = ember::linear_attention(query_map->forward(Q), phi_k, V, linear);
    cache.state = matmul(phi_k.transpose(-1, -2), V).contiguous();  // (B, H, F, M)
    cache.normalizer = sum(phi_k, {2}).unsqueeze(-1).contiguous();  // (B, H, F, 1)
  }
  const std::int64_t longest = *std::max_element(sequence_lengths.begin(), sequence_lengths.end());
  cache.length = longest;
  const bool ragged = std::any_of(sequence_lengths.begin(), sequence_lengths.end(),
                                  [&](std::int64_t n) { return n != longest; });
  cache.sequence_lengths = ragged ? sequence_lengths : std::vector<std::int64_t>{};
  return out->forward(merge_heads(heads));
}

void MultiHeadAttention::ragged_softmax_step(const StepBuffers& s, AttentionCache& cache) const {
  const std::int64_t B = s.q.size(0);
  EMBER_CHECK(static_cast<std::int64_t>(cache.sequence_lengths.size()) == B,
              "MultiHeadAttention::forward_step: the cache holds lengths of {} sequences, the step has {}",
              cache.sequence_lengths.size(), B);
  for (std::int64_t b = 0; b < B; ++b) {
    softmax_attention_step(s.q.narrow(0, b, 1), s.k.narrow(0, b, 1), s.v.narrow(0, b, 1), cache.keys.narrow(0, b, 1),
                           cache.values.narrow(0, b, 1), cache.sequence_lengths[static_cast<std::size_t>(b)],
                           s.heads_split.narrow(0, b, 1));
  }
}

void MultiHeadAttention::check_cache(const AttentionCache& cache, std::int64_t batch, const char* who) const {
  const DType dtype = q->weight.dtype();
  const Device device = q->weight.device();
  // (B, H, rows, columns) of the layer's dtype and device; rows < 0: any.
  auto fits = [&](const Tensor& t, std::int64_t rows, std::int64_t columns) {
    return t.dim() == 4 && t.size(0) == batch && t.size(1) == heads_ && (rows < 0 || t.size(2) == rows) &&
           t.size(3) == columns && t.dtype() == dtype && t.device() == device;
  };
  auto describe = [](const Tensor& t) {
    return t.defined() ? fmt::format("{} {} on {}", t.dtype(), t.shape(), t.device()) : std::string("undefined");
  };
  const bool softmax = options_.kind == AttentionKind::Softmax;
  const bool has_keys = cache.keys.defined() || cache.values.defined();
  const bool has_sums = cache.state.defined() || cache.normalizer.defined() || cache.key_offset.defined();
  EMBER_CHECK(softmax ? !has_sums : !has_keys, "{}: a {} attention layer was given a cache of the other kind", who,
              attention_kind_name(options_.kind));
  if (softmax) {
    EMBER_CHECK(has_keys ? fits(cache.keys, -1, head_dim_) && fits(cache.values, cache.keys.size(2), head_dim_) &&
                               cache.length <= cache.keys.size(2)
                         : cache.length == 0,
                "{}: a softmax cache of {} positions for {} sequences of {} heads x {} must hold keys and values "
                "(B, H, >= length, Dh) of {} on {}, got keys {}, values {}",
                who, cache.length, batch, heads_, head_dim_, dtype, device, describe(cache.keys),
                describe(cache.values));
  } else {
    const std::int64_t features = cache.state.defined() ? cache.state.size(2) : 0;
    EMBER_CHECK(cache.state.defined() == cache.normalizer.defined() &&
                    (!cache.state.defined() || (fits(cache.state, features, head_dim_) &&
                                                fits(cache.normalizer, features, 1))) &&
                    (!cache.key_offset.defined() ||
                     (cache.key_offset.dim() == 3 && cache.key_offset.size(0) == batch &&
                      cache.key_offset.size(1) == heads_ && cache.key_offset.size(2) == 1 &&
                      cache.key_offset.dtype() == dtype && cache.key_offset.device() == device)) &&
                    (cache.state.defined() || cache.length == 0),
                "{}: a linear cache of {} positions for {} sequences of {} heads x {} must hold S (B, H, F, Dh), "
                "Z (B, H, F, 1) and an optional key offset (B, H, 1) of {} on {}, got S {}, Z {}, offset {}",
                who, cache.length, batch, heads_, head_dim_, dtype, device, describe(cache.state),
                describe(cache.normalizer), describe(cache.key_offset));
  }
  EMBER_CHECK(cache.sequence_lengths.empty() || std::ssize(cache.sequence_lengths) == batch,
              "{}: the cache holds lengths of {} sequences, the state {}", who, cache.sequence_lengths.size(), batch);
}

}  // namespace ember::nn
