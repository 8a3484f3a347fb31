// The seed notebook's model, its loss and its CopyModel (see notebook_model.h).
#include "notebook_model.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "accuracy.h"
#include "data.h"
#include "exit_codes.h"

using namespace ember;

namespace copy_task {

namespace {

// Flux's Dense: weights U(-a, a) with a = sqrt(6 / (in + out)) (glorot_uniform), biases zero.
void glorot_uniform(nn::Linear& linear) {
  NoGradGuard no_grad;
  const double in = static_cast<double>(linear.weight.size(1)), out = static_cast<double>(linear.weight.size(0));
  const double a = std::sqrt(6.0 / (in + out));
  linear.weight.copy_(rand(linear.weight.shape()) * (2 * a) - a);
  linear.bias.zero_();
}

std::shared_ptr<nn::Linear> dense(std::int64_t in, std::int64_t out) {
  auto linear = std::make_shared<nn::Linear>(in, out);
  glorot_uniform(*linear);
  return linear;
}

std::shared_ptr<nn::MultiHeadAttention> attention(const NotebookOptions& o) {
  nn::AttentionOptions options;
  options.kind = o.attention;
  options.causal = false;       // linattention ignores mask and future (:119-123)
  options.dropout = o.dropout;  // softmax only: the commented-out block drops scores (:139)
  options.eps = kNotebookLinearEps;
  auto mha = std::make_shared<nn::MultiHeadAttention>(o.d_model, notebook_attention_heads(o.heads, o.attention),
                                                      options);
  for (nn::Linear* linear : {mha->q.get(), mha->k.get(), mha->v.get(), mha->out.get()}) glorot_uniform(*linear);
  return mha;
}

// position_embed.jl's PE for 1-indexed positions and dims: dim i even -> sin(pos / 1e4^(i/d)),
// odd -> cos(pos / 1e4^((i-1)/d)). (positions, d), row r holding position r + 1.
Tensor notebook_sinusoid(std::int64_t positions, std::int64_t d) {
  std::vector<float> table(static_cast<std::size_t>(positions * d));
  for (std::int64_t r = 0; r < positions; ++r) {
    const double pos = static_cast<double>(r + 1);
    for (std::int64_t i = 1; i <= d; ++i) {
      const double value = i % 2 == 0 ? std::sin(pos / std::pow(1e4, double(i) / double(d)))
                                      : std::cos(pos / std::pow(1e4, double(i - 1) / double(d)));
      table[static_cast<std::size_t>(r * d + i - 1)] = static_cast<float>(value);
    }
  }
  return from_vector(table, {positions, d});
}

}  // namespace

std::int64_t notebook_attention_heads(std::int64_t heads, nn::AttentionKind kind) {
  return kind == nn::AttentionKind::Linear ? heads * heads : heads;
}

NotebookBlock::NotebookBlock(const NotebookOptions& o, bool with_cross_attention, Activation activation)
    : activation_(activation) {
  self_attn = register_module("self_attn", attention(o));
  self_norm = register_module("self_norm", std::make_shared<nn::LayerNorm>(Shape{o.d_model}));
  if (with_cross_attention) {
    cross_attn = register_module("cross_attn", attention(o));
    cross_norm = register_module("cross_norm", std::make_shared<nn::LayerNorm>(Shape{o.d_model}));
  }
  fc1 = register_module("fc1", dense(o.d_model, o.d_ff));
  fc2 = register_module("fc2", dense(o.d_ff, o.d_model));
  ffn_norm = register_module("ffn_norm", std::make_shared<nn::LayerNorm>(Shape{o.d_model}));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout));
}

Tensor NotebookBlock::forward(const Tensor& x, const Tensor& memory) {
  EMBER_CHECK(!cross_attn || memory.defined(), "NotebookBlock: a decoder block needs the encoder's memory");
  Tensor y = self_norm->forward(x + dropout_->forward(self_attn->forward(x, x, x)));  // (B, N, d)
  if (cross_attn) y = cross_norm->forward(y + dropout_->forward(cross_attn->forward(y, memory, memory)));
  Tensor hidden = fc1->forward(y);  // (B, N, d_ff)
  hidden = activation_ == Activation::ReLU ? relu(hidden) : nn::elu_plus_one(hidden);
  return ffn_norm->forward(y + dropout_->forward(fc2->forward(hidden)));
}

NotebookTransformer::NotebookTransformer(NotebookOptions options) : options_(options) {
  const std::int64_t heads = notebook_attention_heads(options_.heads, options_.attention);
  EMBER_CHECK(options_.d_model > 0 && options_.heads > 0 && options_.layers > 0 && options_.d_ff > 0 &&
                  options_.positions > 0 && options_.d_model % heads == 0,
              "NotebookTransformer: d_model {} must be a positive multiple of the {} attention heads ({} attention), "
              "layers {}, d_ff {} and positions {} positive",
              options_.d_model, heads, nn::attention_kind_name(options_.attention), options_.layers, options_.d_ff,
              options_.positions);
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(kNotebookVocab, options_.d_model));
  position = register_parameter("position", notebook_sinusoid(options_.positions, options_.d_model));
  encoder = register_module("encoder", std::make_shared<nn::ModuleList<NotebookBlock>>());
  decoder = register_module("decoder", std::make_shared<nn::ModuleList<NotebookBlock>>());
  for (std::int64_t i = 0; i < options_.layers; ++i) {
    encoder->push_back(std::make_shared<NotebookBlock>(options_, false, NotebookBlock::Activation::ReLU));
    decoder->push_back(std::make_shared<NotebookBlock>(options_, true, NotebookBlock::Activation::EluPlusOne));
  }
  head = register_module("head", dense(options_.d_model, kNotebookVocab));
}

Tensor NotebookTransformer::embed(const Tensor& tokens) {
  EMBER_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == kInt64,
              "NotebookTransformer: expected int64 tokens (B, N)");
  const std::int64_t n = tokens.size(1);
  EMBER_CHECK(n <= options_.positions, "NotebookTransformer: {} tokens, but the position table has {} rows", n,
              options_.positions);
  const double scale = 1.0 / std::sqrt(static_cast<double>(options_.d_model));
  return embedding->forward(tokens) * scale + position.narrow(0, 0, n);  // (B, N, d) + (N, d)
}

Tensor NotebookTransformer::encode(const Tensor& src) {
  Tensor x = embed(src);
  const std::int64_t run = std::min<std::int64_t>(kNotebookEncoderLayersRun, options_.layers);
  for (std::int64_t i = 0; i < run; ++i) x = (*encoder)[static_cast<std::size_t>(i)]->forward(x);
  return x;
}

Tensor NotebookTransformer::decode(const Tensor& tgt, const Tensor& memory) {
  Tensor x = embed(tgt);
  for (const auto& block : *decoder) x = block->forward(x, memory);
  return head->forward(x);
}

Tensor notebook_loss(const Tensor& logits, const Tensor& tokens) {
  const std::int64_t b = tokens.size(0), n = tokens.size(1);
  Tensor scored = logits.narrow(1, 0, n - 1);                 // (B, N-1, 13): outputs 1..N-1 (1-indexed)
  Tensor targets = tokens.narrow(1, 1, n - 1).contiguous();  // (B, N-1): tokens 2..N
  return cross_entropy(scored, targets, {.label_smoothing = kNotebookLabelSmoothing}) * static_cast<double>(b);
}

void check_notebook_config(const Config& c) {
  for (std::int64_t n : c.seq_lens)
    if (n < kMinNotebookSeqLen)
      bad_input("--seq-lens {} with --variant notebook: N counts the start and end tokens, so it must be at least {}",
                n, kMinNotebookSeqLen);
  const bool linear = std::ranges::find(c.kinds, nn::AttentionKind::Linear) != c.kinds.end();
  const std::int64_t sub_heads = notebook_attention_heads(c.heads, nn::AttentionKind::Linear);
  if (linear && c.d_model % sub_heads != 0)
    bad_input("--d-model {} with --variant notebook: linear attention splits each of the {} heads into {} sub-heads, "
              "so d_model must be a multiple of heads^2 = {}", c.d_model, c.heads, c.heads, sub_heads);
}

std::string notebook_configuration_text(const Config& c) {
  return fmt::format(
      "data (LinTrans.jl): N tokens per sequence, N in {{{}}}: [11, s1..s(N-2), 12], vocabulary {} (0 unknown, "
      "symbols 1..{}, {} start, {} end), so N - 2 symbols are copied\n"
      "model: the encoder reads the sequence and runs its first {} of {} layers; the decoder reads the same sequence "
      "whole with no causal mask, so output t sees token t + 1, its own target\n"
      "loss: decoder outputs 1..N-1 against tokens 2..N (label[2:end] vs probs[1:end-1]), cross entropy with label "
      "smoothing {}, summed over the batch and divided by the N - 1 positions (batch x the per-token mean)\n"
      "accuracy: training = teacher-forced on those targets; evaluation = greedy generation of N - 1 tokens from the "
      "start token, the decoder re-run on the prefix at each step, {} held-out sequences\n"
      "departures: linear attention's eps {} is added to phi(q).sum phi(k) (the notebook adds it to sum phi(k)); "
      "label smoothing gives the true class {}/{} more; the encoder's discarded extra passes are not run\n",
      fmt::join(c.seq_lens, ", "), kNotebookVocab, kSymbols, kNotebookStart, kNotebookEnd,
      std::min<std::int64_t>(kNotebookEncoderLayersRun, c.layers), c.layers, kNotebookLabelSmoothing, c.eval_sequences,
      kNotebookLinearEps, kNotebookLabelSmoothing, kNotebookVocab);
}

namespace {

class NotebookCopyModel final : public CopyModel {
 public:
  NotebookCopyModel(const Config& c, nn::AttentionKind kind, std::int64_t n)
      : config_(c), n_(n),
        model_(NotebookOptions{.d_model = c.d_model,
                               .heads = c.heads,
                               .layers = c.layers,
                               .d_ff = c.d_ff,
                               .dropout = c.dropout,
                               .attention = kind,
                               .positions = std::max(kNotebookPositions, n)}) {
    model_.to(c.device);
  }
  nn::Module& module() override { return model_; }

  // The decoder reads the whole sequence; its outputs at positions 1..N-1 are scored.
  BatchResult train_batch(std::uint64_t data_seed, std::uint64_t index, Shard shard) override {
    NotebookBatch batch = shard_of(make_notebook_batch(data_seed, index, config_.batch, n_), shard);
    Tensor tokens = batch.tokens.to(config_.device);
    Tensor logits = model_.forward(tokens, tokens);
    Tensor scored = logits.narrow(1, 0, n_ - 1);  // (B, N-1, 13)
    return {notebook_loss(logits, tokens), scored_accuracy(scored, batch.targets.to(config_.device)),
            2 * tokens.numel()};
  }

  // From the start token, N - 1 tokens (the N - 2 symbols and the end), each by a fresh decoder
  // pass over the prefix so far, taking its last position, as the notebook's copy() (:594-610),
  // which stops at the end token instead; here every sequence gets exactly N - 1 tokens.
  EvalResult evaluate(std::uint64_t eval_seed, std::int64_t sequences, const std::atomic<bool>& stop) override {
    NoGradGuard no_grad;
    const bool was_training = model_.is_training();
    model_.eval();
    EvalResult result = evaluate_batches(sequences, config_.batch, stop, [&](std::int64_t k, std::int64_t) {
      NotebookBatch batch = make_notebook_batch(eval_seed, static_cast<std::uint64_t>(k), config_.batch, n_);
      Tensor tokens = batch.tokens.to(config_.device);
      Tensor memory = model_.encode(tokens);
      Tensor prefix = tokens.narrow(1, 0, 1);  // (B, 1): the start token
      for (std::int64_t t = 1; t < n_; ++t) {
        Tensor logits = model_.decode(prefix, memory);         // (B, t, 13)
        Tensor next = argmax(logits.narrow(1, t - 1, 1), -1);  // (B, 1)
        prefix = cat({prefix, next}, 1);
      }
      return Generated{prefix.narrow(1, 1, n_ - 1), batch.targets};
    });
    model_.train(was_training);
    return result;
  }

  Tensor sweep_loss(std::int64_t n, std::int64_t batch) override {
    Tensor tokens = make_notebook_batch(12345, 0, batch, n).tokens.to(config_.device);
    return notebook_loss(model_.forward(tokens, tokens), tokens);
  }

 private:
  Config config_;
  std::int64_t n_;
  NotebookTransformer model_;
};

}  // namespace

std::unique_ptr<CopyModel> make_notebook_copy_model(const Config& config, nn::AttentionKind kind,
                                                    std::int64_t seq_len) {
  return std::make_unique<NotebookCopyModel>(config, kind, seq_len);
}

}  // namespace copy_task
