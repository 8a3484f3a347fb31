// Transformers built from MultiHeadAttention, for both protocols of the copy task:
//   Seq2SeqTransformer - encoder-decoder (Vaswani et al.), the replication study's model;
//   CausalLM           - decoder-only language model, the "Transformers are RNNs" model.
// Every layer takes the attention kind (softmax or linear) from the config; cross-attention has
// its own kind. Post-norm by default (as the original Transformer), pre-norm with norm_first.
// Both models are nn::StepModels: nn::generate (nn/generation.h) drives them, prefilling the
// prompt in one parallel pass and then running one position at a time (forward_step).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "nn/attention.h"
#include "nn/step_model.h"

namespace ember::nn {

// How a token's embedding and its position meet at the input.
enum class PositionMix {
  Add,         // token embedding * embedding_scale + sinusoid over all d_model (Vaswani et al.)
  ConcatHalf,  // [token embedding (d_model/2), sinusoid (d_model/2)], unscaled (Katharopoulos et al.'s copy task)
};

struct TransformerConfig {
  std::int64_t vocab_size = 11;
  std::int64_t d_model = 256;
  std::int64_t heads = 8;
  std::int64_t encoder_layers = 4;  // Seq2SeqTransformer only
  std::int64_t decoder_layers = 4;
  std::int64_t d_ff = 1024;
  double dropout = 0.1;                     // after each sublayer and inside the feed-forward
  std::optional<double> attention_dropout;  // on softmax attention weights; unset: dropout
  std::optional<double> embedding_dropout;  // on the input embedding; unset: dropout
  PositionMix position_mix = PositionMix::Add;
  std::optional<double> embedding_scale;  // Add: the token embedding's factor; unset: sqrt(d_model)
  bool final_norm = false;                // a LayerNorm after the last layer (always there with norm_first)
  AttentionKind attention = AttentionKind::Softmax;        // self-attention
  AttentionKind cross_attention = AttentionKind::Softmax;  // Seq2SeqTransformer only
  bool norm_first = false;
  Activation activation = Activation::ReLU;
  FeatureMapSpec feature_map = feature_maps::elu_plus_one();  // linear attention: queries, and keys
  std::optional<FeatureMapSpec> key_feature_map;              // linear attention: keys, when it differs
  double linear_eps = 1e-6;
  std::int64_t chunk_size = 0;  // causal linear attention's chunk; 0: the device's (ops/linear_attention.h)
};

class EncoderLayer : public Module {
 public:
  explicit EncoderLayer(const TransformerConfig& config);
  Tensor forward(const Tensor& x, const Tensor& lengths = {});  // (B, N, d_model)
  std::shared_ptr<MultiHeadAttention> self_attn;
  std::shared_ptr<FeedForward> ffn;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  std::shared_ptr<Dropout> dropout_;
  bool norm_first_;
};

// Causal self-attention, optional cross-attention over a memory, feed-forward.
class DecoderLayer : public Module {
 public:
  DecoderLayer(const TransformerConfig& config, bool with_cross_attention);
  Tensor forward(const Tensor& x, const Tensor& memory = {}, const Tensor& memory_lengths = {});
  // One position (B, 1, d_model); no autograd.
  Tensor forward_step(const Tensor& x, AttentionCache& self_cache, const Tensor& memory = {},
                      AttentionCache* cross_cache = nullptr, const Tensor& memory_lengths = {});
  // Right-padded prompts (B, P, d_model) with lengths (B) in one pass, filling self_cache
  // (MultiHeadAttention::forward_prefill); no autograd.
  Tensor forward_prefill(const Tensor& x, const Tensor& lengths, AttentionCache& self_cache,
                         const Tensor& memory = {}, const Tensor& memory_lengths = {});
  std::shared_ptr<MultiHeadAttention> self_attn, cross_attn;  // cross_attn null without memory
  std::shared_ptr<FeedForward> ffn;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;

 private:
  Tensor residual(const Tensor& x, const std::shared_ptr<LayerNorm>& norm,
                  const std::function<Tensor(const Tensor&)>& sublayer);
  std::shared_ptr<Dropout> dropout_;
  bool norm_first_;
};

// A token embedding joined with the sinusoidal position encoding as config.position_mix says.
// Add: entries start as N(0, 1/d_model) (fairseq), so that after the default sqrt(d_model) scale a
// token has unit variance per coordinate, the scale of the positions. ConcatHalf: entries start
// N(0, 1), as torch.nn.Embedding.
class TokenEmbedding : public Module {
 public:
  explicit TokenEmbedding(const TransformerConfig& config);
  Tensor forward(const Tensor& tokens, std::int64_t start = 0);  // int64 (B, N) -> (B, N, d_model)
  // Sequence b's tokens at positions starts[b], starts[b] + 1, ... (a batch of different lengths).
  Tensor forward(const Tensor& tokens, const std::vector<std::int64_t>& starts);
  std::shared_ptr<Embedding> embedding;

 private:
  std::shared_ptr<PositionalEncoding> position_;
  std::shared_ptr<Dropout> dropout_;
  PositionMix mix_;
  double scale_ = 1;
};

class Seq2SeqTransformer : public StepModel {
 public:
  explicit Seq2SeqTransformer(TransformerConfig config);
  // src (B, Ns), tgt (B, Nt) int64 -> logits (B, Nt, vocab). src_lengths: optional (B) int64.
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_lengths = {});
  Tensor encode(const Tensor& src, const Tensor& src_lengths = {});
  Tensor decode(const Tensor& tgt, const Tensor& memory, const Tensor& src_lengths = {});
  // Logits (B, 1, vocab) for one new target token (B, 1) over an explicit memory; no autograd.
  // The state's caches are the decoder's self-attention caches, then its cross-attention caches.
  Tensor decode_step(const Tensor& token, const Tensor& memory, GenerationState& state,
                     const Tensor& src_lengths = {});

  // Generation (nn::StepModel): start() encodes the source, in eval mode, into a new state's
  // context ("memory", "memory_lengths"); prefill and forward_step then decode over it.
  GenerationState start(const Tensor& src, const Tensor& src_lengths = {});
  Tensor prefill(const Tensor& tokens, const Tensor& lengths, GenerationState& state) override;
  Tensor forward_step(const Tensor& token, GenerationState& state) override;
  void check_state(const GenerationState& state, const char* who) const override;
  const TransformerConfig& config() const { return config_; }

 private:
  TransformerConfig config_;
  std::shared_ptr<TokenEmbedding> src_embed_, tgt_embed_;
  std::shared_ptr<ModuleList<EncoderLayer>> encoder_;
  std::shared_ptr<ModuleList<DecoderLayer>> decoder_;
  std::shared_ptr<LayerNorm> encoder_norm_, decoder_norm_;  // with norm_first or final_norm
  std::shared_ptr<Linear> head_;
};

class CausalLM : public StepModel {
 public:
  explicit CausalLM(TransformerConfig config);
  Tensor forward(const Tensor& tokens);  // int64 (B, N) -> logits (B, N, vocab)
  // Generation (nn::StepModel), no autograd. The state's caches are the layers' self-attention
  // caches. forward_step: logits (B, 1, vocab) for the next position given one token (B, 1).
  Tensor prefill(const Tensor& tokens, const Tensor& lengths, GenerationState& state) override;
  Tensor forward_step(const Tensor& token, GenerationState& state) override;
  void check_state(const GenerationState& state, const char* who) const override;
  const TransformerConfig& config() const { return config_; }

 private:
  TransformerConfig config_;
  std::shared_ptr<TokenEmbedding> embed_;
  std::shared_ptr<ModuleList<DecoderLayer>> layers_;
  std::shared_ptr<LayerNorm> final_norm_;  // with norm_first or final_norm
  std::shared_ptr<Linear> head_;
};

// Greedy decoding through nn::generate, kept for the copy task and the benchmarks. CausalLM:
// continues each prompt (B, P) by max_new_tokens, returning (B, P + max_new_tokens). Seq2Seq:
// starts from start_token and returns (B, max_len) generated tokens. Both restore the training mode.
Tensor generate_greedy(CausalLM& model, const Tensor& prompt, std::int64_t max_new_tokens);
Tensor generate_greedy(Seq2SeqTransformer& model, const Tensor& src, std::int64_t start_token,
                       std::int64_t max_len, const Tensor& src_lengths = {});

}  // namespace ember::nn
