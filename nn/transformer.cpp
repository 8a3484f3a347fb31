// Encoder/decoder layers, the two Transformer models, their generation steps and greedy generation.
#include "nn/transformer.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "nn/generation.h"
#include "nn/prompts.h"
#include "ops/embedding.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace ember::nn {

namespace {

AttentionOptions attention_options(const TransformerConfig& c, AttentionKind kind, bool causal) {
  AttentionOptions o;
  o.kind = kind;
  o.causal = causal;
  o.dropout = c.attention_dropout.value_or(c.dropout);
  o.feature_map = c.feature_map;
  o.key_feature_map = c.key_feature_map;
  o.eps = c.linear_eps;
  o.chunk_size = c.chunk_size;
  return o;
}

void check_config(const TransformerConfig& c) {
  auto probability = [](std::optional<double> p) { return !p || (*p >= 0 && *p < 1); };
  EMBER_CHECK(c.vocab_size > 0 && c.d_model > 0 && c.heads > 0 && c.d_ff > 0 && c.decoder_layers >= 0 &&
                  c.encoder_layers >= 0 && c.d_model % c.heads == 0 && c.dropout >= 0 && c.dropout < 1,
              "TransformerConfig: invalid (vocab {}, d_model {}, heads {}, d_ff {}, layers {}+{}, dropout {}); "
              "d_model must be a multiple of heads",
              c.vocab_size, c.d_model, c.heads, c.d_ff, c.encoder_layers, c.decoder_layers, c.dropout);
  EMBER_CHECK(probability(c.attention_dropout) && probability(c.embedding_dropout),
              "TransformerConfig: attention_dropout {} and embedding_dropout {} must lie in [0, 1)",
              c.attention_dropout.value_or(0), c.embedding_dropout.value_or(0));
  EMBER_CHECK(c.position_mix != PositionMix::ConcatHalf || c.d_model % 2 == 0,
              "TransformerConfig: PositionMix::ConcatHalf needs an even d_model, got {}", c.d_model);
}

void check_tokens(const Tensor& tokens, const char* who) {
  EMBER_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == kInt64,
              "{}: expected int64 tokens (B, N), got {} {}", who, tokens.defined() ? tokens.dtype() : kInt64,
              tokens.defined() ? tokens.shape() : Shape{});
}

// A self-attention cache read from a file must hold each sequence's positions so far.
void check_positions(const GenerationState& state, const AttentionCache& cache, const char* who) {
  for (std::int64_t b = 0; b < state.batch_size(); ++b) {
    const std::int64_t held = cache.sequence_lengths.empty() ? cache.length
                                                              : cache.sequence_lengths[static_cast<std::size_t>(b)];
    EMBER_CHECK(held == state.lengths[static_cast<std::size_t>(b)],
                "{}: sequence {} is at position {}, but its self-attention cache holds {} positions", who, b,
                state.lengths[static_cast<std::size_t>(b)], held);
  }
}

}  // namespace

EncoderLayer::EncoderLayer(const TransformerConfig& c) : norm_first_(c.norm_first) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.heads,
                                                                              attention_options(c, c.attention, false)));
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d_model, c.d_ff, c.dropout, c.activation));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{c.d_model}));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{c.d_model}));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(c.dropout));
}

Tensor EncoderLayer::forward(const Tensor& x, const Tensor& lengths) {
  if (norm_first_) {
    Tensor h = norm1->forward(x);
    Tensor y = x + dropout_->forward(self_attn->forward(h, h, h, lengths));
    return y + dropout_->forward(ffn->forward(norm2->forward(y)));
  }
  Tensor y = norm1->forward(x + dropout_->forward(self_attn->forward(x, x, x, lengths)));
  return norm2->forward(y + dropout_->forward(ffn->forward(y)));
}

DecoderLayer::DecoderLayer(const TransformerConfig& c, bool with_cross_attention) : norm_first_(c.norm_first) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.heads,
                                                                              attention_options(c, c.attention, true)));
  if (with_cross_attention) {
    cross_attn = register_module("cross_attn", std::make_shared<MultiHeadAttention>(
                                                   c.d_model, c.heads, attention_options(c, c.cross_attention, false)));
    norm3 = register_module("norm3", std::make_shared<LayerNorm>(Shape{c.d_model}));
  }
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d_model, c.d_ff, c.dropout, c.activation));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{c.d_model}));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{c.d_model}));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(c.dropout));
}

// x + sublayer(x) with the norm before (pre-norm) or after (post-norm).
Tensor DecoderLayer::residual(const Tensor& x, const std::shared_ptr<LayerNorm>& norm,
                              const std::function<Tensor(const Tensor&)>& sublayer) {
  if (norm_first_) return x + dropout_->forward(sublayer(norm->forward(x)));
  return norm->forward(x + dropout_->forward(sublayer(x)));
}

Tensor DecoderLayer::forward(const Tensor& x, const Tensor& memory, const Tensor& memory_lengths) {
  EMBER_CHECK(!cross_attn || memory.defined(), "DecoderLayer: this layer cross-attends and needs a memory");
  Tensor y = residual(x, norm1, [&](const Tensor& h) { return self_attn->forward(h, h, h); });
  if (cross_attn) y = residual(y, norm3, [&](const Tensor& h) { return cross_attn->forward(h, memory, memory, memory_lengths); });
  return residual(y, norm2, [&](const Tensor& h) { return ffn->forward(h); });
}

Tensor DecoderLayer::forward_step(const Tensor& x, AttentionCache& self_cache, const Tensor& memory,
                                  AttentionCache* cross_cache, const Tensor& memory_lengths) {
  NoGradGuard no_grad;
  Tensor y = residual(x, norm1, [&](const Tensor& h) { return self_attn->forward_step(h, self_cache); });
  if (cross_attn)
    y = residual(y, norm3, [&](const Tensor& h) { return cross_attn->forward_cross_step(h, memory, *cross_cache, memory_lengths); });
  return residual(y, norm2, [&](const Tensor& h) { return ffn->forward(h); });
}

Tensor DecoderLayer::forward_prefill(const Tensor& x, const Tensor& lengths, AttentionCache& self_cache,
                                     const Tensor& memory, const Tensor& memory_lengths) {
  NoGradGuard no_grad;
  EMBER_CHECK(!cross_attn || memory.defined(),
              "DecoderLayer::forward_prefill: this layer cross-attends and needs a memory");
  Tensor y = residual(x, norm1, [&](const Tensor& h) { return self_attn->forward_prefill(h, lengths, self_cache); });
  // The cross-attention cache is filled from the memory by the first step (forward_cross_step).
  if (cross_attn)
    y = residual(y, norm3, [&](const Tensor& h) { return cross_attn->forward(h, memory, memory, memory_lengths); });
  return residual(y, norm2, [&](const Tensor& h) { return ffn->forward(h); });
}

TokenEmbedding::TokenEmbedding(const TransformerConfig& c) : mix_(c.position_mix) {
  const std::int64_t token_width = mix_ == PositionMix::ConcatHalf ? c.d_model / 2 : c.d_model;
  embedding = register_module("embedding", std::make_shared<Embedding>(c.vocab_size, token_width));
  if (mix_ == PositionMix::Add) {
    const double sqrt_d = std::sqrt(static_cast<double>(c.d_model));
    scale_ = c.embedding_scale.value_or(sqrt_d);
    NoGradGuard no_grad;
    embedding->weight.mul_(1.0 / sqrt_d);
  }
  const std::int64_t position_width = mix_ == PositionMix::ConcatHalf ? c.d_model - token_width : c.d_model;
  position_ = register_module("position", std::make_shared<PositionalEncoding>(position_width));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(c.embedding_dropout.value_or(c.dropout)));
}

Tensor TokenEmbedding::forward(const Tensor& tokens, std::int64_t start) {
  Tensor tokens_embedded = embedding->forward(tokens);  // (B, N, width)
  if (mix_ == PositionMix::Add) return dropout_->forward(position_->forward(tokens_embedded * scale_, start));
  const std::int64_t b = tokens.size(0), n = tokens.size(1);
  Tensor positions = position_->encodings(start, n, tokens_embedded.dtype(), tokens_embedded.device());  // (N, d/2)
  return dropout_->forward(cat({tokens_embedded, positions.unsqueeze(0).expand({b, n, positions.size(1)})}, 2));
}

Tensor TokenEmbedding::forward(const Tensor& tokens, const std::vector<std::int64_t>& starts) {
  EMBER_CHECK(tokens.defined() && tokens.dim() == 2 && static_cast<std::int64_t>(starts.size()) == tokens.size(0),
              "TokenEmbedding: expected tokens (B, N) with B = {} start positions, got {}", starts.size(),
              tokens.defined() ? tokens.shape() : Shape{});
  const std::int64_t b = tokens.size(0), n = tokens.size(1);
  if (std::all_of(starts.begin(), starts.end(), [&](std::int64_t start) { return start == starts[0]; }))
    return forward(tokens, starts[0]);
  std::vector<std::int64_t> indices;  // (B, N): the position of every token
  for (std::int64_t start : starts) {
    EMBER_CHECK(start >= 0, "TokenEmbedding: negative start position {}", start);
    for (std::int64_t i = 0; i < n; ++i) indices.push_back(start + i);
  }
  Tensor tokens_embedded = embedding->forward(tokens);  // (B, N, width)
  const std::int64_t end = *std::max_element(indices.begin(), indices.end()) + 1;
  Tensor table = position_->encodings(0, end, tokens_embedded.dtype(), tokens_embedded.device());  // (end, width)
  Tensor positions = ember::embedding(table, from_vector(indices, {b, n}, TensorOptions(kInt64, tokens.device())));
  if (mix_ == PositionMix::Add) return dropout_->forward(tokens_embedded * scale_ + positions);
  return dropout_->forward(cat({tokens_embedded, positions}, 2));
}

Seq2SeqTransformer::Seq2SeqTransformer(TransformerConfig config) : config_(std::move(config)) {
  check_config(config_);
  src_embed_ = register_module("src_embed", std::make_shared<TokenEmbedding>(config_));
  tgt_embed_ = register_module("tgt_embed", std::make_shared<TokenEmbedding>(config_));
  encoder_ = register_module("encoder", std::make_shared<ModuleList<EncoderLayer>>());
  for (std::int64_t i = 0; i < config_.encoder_layers; ++i) encoder_->push_back(std::make_shared<EncoderLayer>(config_));
  decoder_ = register_module("decoder", std::make_shared<ModuleList<DecoderLayer>>());
  for (std::int64_t i = 0; i < config_.decoder_layers; ++i)
    decoder_->push_back(std::make_shared<DecoderLayer>(config_, true));
  if (config_.norm_first || config_.final_norm) {
    encoder_norm_ = register_module("encoder_norm", std::make_shared<LayerNorm>(Shape{config_.d_model}));
    decoder_norm_ = register_module("decoder_norm", std::make_shared<LayerNorm>(Shape{config_.d_model}));
  }
  head_ = register_module("head", std::make_shared<Linear>(config_.d_model, config_.vocab_size));
}

Tensor Seq2SeqTransformer::encode(const Tensor& src, const Tensor& src_lengths) {
  check_tokens(src, "Seq2SeqTransformer::encode");
  Tensor x = src_embed_->forward(src);
  for (const auto& layer : *encoder_) x = layer->forward(x, src_lengths);
  return encoder_norm_ ? encoder_norm_->forward(x) : x;
}

Tensor Seq2SeqTransformer::decode(const Tensor& tgt, const Tensor& memory, const Tensor& src_lengths) {
  check_tokens(tgt, "Seq2SeqTransformer::decode");
  Tensor x = tgt_embed_->forward(tgt);
  for (const auto& layer : *decoder_) x = layer->forward(x, memory, src_lengths);
  if (decoder_norm_) x = decoder_norm_->forward(x);
  return head_->forward(x);
}

Tensor Seq2SeqTransformer::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_lengths) {
  return decode(tgt, encode(src, src_lengths), src_lengths);
}

Tensor Seq2SeqTransformer::decode_step(const Tensor& token, const Tensor& memory, GenerationState& state,
                                       const Tensor& src_lengths) {
  NoGradGuard no_grad;
  check_tokens(token, "Seq2SeqTransformer::decode_step");
  EMBER_CHECK(token.size(1) == 1,
              "Seq2SeqTransformer::decode_step: expected one token per sequence (B, 1), got {}", token.shape());
  const std::size_t layers = decoder_->size();
  state.prepare(token.size(0), 2 * layers, "Seq2SeqTransformer::decode_step");
  Tensor x = tgt_embed_->forward(token, state.lengths);
  state.update_caches([&] {
    for (std::size_t i = 0; i < layers; ++i)
      x = (*decoder_)[i]->forward_step(x, state.caches[i], memory, &state.caches[layers + i], src_lengths);
  });
  state.advance();
  if (decoder_norm_) x = decoder_norm_->forward(x);
  return head_->forward(x);
}

GenerationState Seq2SeqTransformer::start(const Tensor& src, const Tensor& src_lengths) {
  NoGradGuard no_grad;
  EvalScope eval(*this);
  GenerationState state;
  state.context["memory"] = encode(src, src_lengths);
  if (src_lengths.defined()) state.context["memory_lengths"] = src_lengths;
  return state;
}

void Seq2SeqTransformer::check_state(const GenerationState& state, const char* who) const {
  const auto memory = state.context.find("memory");
  EMBER_CHECK(memory != state.context.end() && memory->second.dim() == 3 && memory->second.size(2) == config_.d_model,
              "{}: a Seq2SeqTransformer state needs the encoder's memory (B, Ns, {}): start it with start(src)", who,
              config_.d_model);
  EMBER_CHECK(state.empty() || (state.caches.size() == 2 * decoder_->size() &&
                                memory->second.size(0) == state.batch_size()),
              "{}: the state holds {} caches for {} sequences, this Seq2SeqTransformer needs {} for a memory of {}",
              who, state.caches.size(), state.batch_size(), 2 * decoder_->size(), memory->second.shape());
  if (state.empty()) return;
  const std::size_t layers = decoder_->size();
  for (std::size_t i = 0; i < layers; ++i) {
    (*decoder_)[i]->self_attn->check_cache(state.caches[i], state.batch_size(), who);
    check_positions(state, state.caches[i], who);
    (*decoder_)[i]->cross_attn->check_cache(state.caches[layers + i], state.batch_size(), who);
  }
}

Tensor Seq2SeqTransformer::prefill(const Tensor& tokens, const Tensor& lengths, GenerationState& state) {
  NoGradGuard no_grad;
  const std::vector<std::int64_t> prompt_lengths = check_prompts(tokens, lengths, "Seq2SeqTransformer::prefill");
  check_state(state, "Seq2SeqTransformer::prefill");
  EMBER_CHECK(state.empty(), "Seq2SeqTransformer::prefill: the state already holds positions; prefill starts a state");
  const Tensor& memory = state.context.at("memory");
  const Tensor memory_lengths =
      state.context.contains("memory_lengths") ? state.context.at("memory_lengths") : Tensor{};
  EMBER_CHECK(tokens.size(0) == memory.size(0),
              "Seq2SeqTransformer::prefill: {} prompts for a memory of {} sequences {}", tokens.size(0),
              memory.size(0), memory.shape());
  const std::size_t layers = decoder_->size();
  state.prepare(tokens.size(0), 2 * layers, "Seq2SeqTransformer::prefill");
  Tensor x = tgt_embed_->forward(tokens);
  state.update_caches([&] {
    for (std::size_t i = 0; i < layers; ++i)
      x = (*decoder_)[i]->forward_prefill(x, lengths, state.caches[i], memory, memory_lengths);
  });
  state.lengths = prompt_lengths;
  x = last_positions(x, prompt_lengths);  // (B, d_model)
  if (decoder_norm_) x = decoder_norm_->forward(x);
  return head_->forward(x);
}

Tensor Seq2SeqTransformer::forward_step(const Tensor& token, GenerationState& state) {
  check_state(state, "Seq2SeqTransformer::forward_step");
  const auto memory_lengths = state.context.find("memory_lengths");
  return decode_step(token, state.context.at("memory"), state,
                     memory_lengths == state.context.end() ? Tensor{} : memory_lengths->second);
}

CausalLM::CausalLM(TransformerConfig config) : config_(std::move(config)) {
  check_config(config_);
  embed_ = register_module("embed", std::make_shared<TokenEmbedding>(config_));
  layers_ = register_module("layers", std::make_shared<ModuleList<DecoderLayer>>());
  for (std::int64_t i = 0; i < config_.decoder_layers; ++i) layers_->push_back(std::make_shared<DecoderLayer>(config_, false));
  if (config_.norm_first || config_.final_norm)
    final_norm_ = register_module("final_norm", std::make_shared<LayerNorm>(Shape{config_.d_model}));
  head_ = register_module("head", std::make_shared<Linear>(config_.d_model, config_.vocab_size));
}

Tensor CausalLM::forward(const Tensor& tokens) {
  check_tokens(tokens, "CausalLM");
  Tensor x = embed_->forward(tokens);
  for (const auto& layer : *layers_) x = layer->forward(x);
  if (final_norm_) x = final_norm_->forward(x);
  return head_->forward(x);
}

Tensor CausalLM::forward_step(const Tensor& token, GenerationState& state) {
  NoGradGuard no_grad;
  check_tokens(token, "CausalLM::forward_step");
  EMBER_CHECK(token.size(1) == 1, "CausalLM::forward_step: expected one token per sequence (B, 1), got {}",
              token.shape());
  state.prepare(token.size(0), layers_->size(), "CausalLM::forward_step");
  Tensor x = embed_->forward(token, state.lengths);
  state.update_caches([&] {
    for (std::size_t i = 0; i < layers_->size(); ++i) x = (*layers_)[i]->forward_step(x, state.caches[i]);
  });
  state.advance();
  if (final_norm_) x = final_norm_->forward(x);
  return head_->forward(x);
}

Tensor CausalLM::prefill(const Tensor& tokens, const Tensor& lengths, GenerationState& state) {
  NoGradGuard no_grad;
  const std::vector<std::int64_t> prompt_lengths = check_prompts(tokens, lengths, "CausalLM::prefill");
  EMBER_CHECK(state.empty(), "CausalLM::prefill: the state already holds {} sequences; prefill starts an empty state",
              state.batch_size());
  state.prepare(tokens.size(0), layers_->size(), "CausalLM::prefill");
  Tensor x = embed_->forward(tokens);
  state.update_caches([&] {
    for (std::size_t i = 0; i < layers_->size(); ++i) x = (*layers_)[i]->forward_prefill(x, lengths, state.caches[i]);
  });
  state.lengths = prompt_lengths;
  x = last_positions(x, prompt_lengths);  // (B, d_model)
  if (final_norm_) x = final_norm_->forward(x);
  return head_->forward(x);
}

void CausalLM::check_state(const GenerationState& state, const char* who) const {
  EMBER_CHECK(state.caches.size() == layers_->size(), "{}: the state holds {} caches, this CausalLM has {} layers", who,
              state.caches.size(), layers_->size());
  for (std::size_t i = 0; i < layers_->size(); ++i) {
    (*layers_)[i]->self_attn->check_cache(state.caches[i], state.batch_size(), who);
    check_positions(state, state.caches[i], who);
  }
}

Tensor generate_greedy(CausalLM& model, const Tensor& prompt, std::int64_t max_new_tokens) {
  check_tokens(prompt, "generate_greedy");
  EMBER_CHECK(prompt.size(1) >= 1 && max_new_tokens >= 0,
              "generate_greedy: need a non-empty prompt and max_new_tokens >= 0, got {} and {}",
              prompt.shape(), max_new_tokens);
  if (max_new_tokens == 0) return prompt.clone();
  GenerationOptions options;
  options.max_new_tokens = max_new_tokens;
  return cat({prompt, generate(model, prompt, Tensor{}, options).tokens}, 1);
}

Tensor generate_greedy(Seq2SeqTransformer& model, const Tensor& src, std::int64_t start_token,
                       std::int64_t max_len, const Tensor& src_lengths) {
  check_tokens(src, "generate_greedy");
  EMBER_CHECK(max_len >= 1, "generate_greedy: max_len must be positive, got {}", max_len);
  GenerationState state = model.start(src, src_lengths);
  prefill(model, full({src.size(0), 1}, static_cast<double>(start_token), TensorOptions(kInt64, src.device())), {},
          state);
  GenerationOptions options;
  options.max_new_tokens = max_len;
  return generate(model, state, options).tokens;
}

}  // namespace ember::nn
