// The two protocols' models (see model.h); the seed notebook's is in notebook_model.cpp.
#include "model.h"

#include "accuracy.h"
#include "data.h"
#include "notebook_model.h"

using namespace ember;

namespace copy_task {

namespace {

nn::FeatureMapSpec feature_map_spec(FeatureMapChoice choice) {
  switch (choice) {
    case FeatureMapChoice::Relu: return nn::feature_maps::relu();
    case FeatureMapChoice::Favor: return nn::feature_maps::favor();
    case FeatureMapChoice::Learned: return nn::feature_maps::learned();
    case FeatureMapChoice::Elu: break;
  }
  return nn::feature_maps::elu_plus_one();
}

nn::TransformerConfig transformer_config(const Config& c, nn::AttentionKind kind) {
  nn::TransformerConfig t;
  t.vocab_size = kVocab;
  t.d_model = c.d_model;
  t.heads = c.heads;
  t.encoder_layers = c.layers;
  t.decoder_layers = c.layers;
  t.d_ff = c.d_ff;
  t.dropout = c.dropout;
  t.attention = kind;
  t.cross_attention = kind;
  t.feature_map = feature_map_spec(c.feature_map);
  if (c.protocol == Protocol::Paper) {
    // main.py's SequencePredictor: a half-width token embedding beside a half-width sinusoid, no
    // dropout on it; fast-transformers' encoder: post-norm ReLU layers, dropout also on the
    // softmax attention weights, a LayerNorm after the last layer.
    t.position_mix = nn::PositionMix::ConcatHalf;
    t.embedding_dropout = 0.0;
    t.final_norm = true;
  }
  return t;
}

class LmModel final : public CopyModel {
 public:
  LmModel(const Config& c, nn::AttentionKind kind, std::int64_t seq_len)
      : config_(c), seq_len_(seq_len), model_(transformer_config(c, kind)) {
    model_.to(c.device);
  }
  nn::Module& module() override { return model_; }

  // Cross entropy with ignore_index averages over every scored target of the batch, i.e.
  // sum(mask * CE) / sum(mask) as main.py computes it: longer sequences weigh more.
  BatchResult train_batch(std::uint64_t data_seed, std::uint64_t index, Shard shard) override {
    const LmBatch global = make_lm_batch(data_seed, index, config_.batch, seq_len_);
    const LmBatch batch = shard_of(global, shard);
    Tensor targets = batch.targets.to(config_.device);
    Tensor logits = model_.forward(batch.inputs.to(config_.device));
    Tensor loss = cross_entropy(logits, targets, {.ignore_index = kIgnore});  // mean over the shard's scored
    double accuracy = scored_accuracy(logits, targets);
    if (shard.count > 1) {
      // The global loss is the mean over every scored target of the global batch; shards score
      // different counts, so each mean is weighted by its share before the ranks average them.
      const double weight = static_cast<double>(batch.scored * shard.count) / static_cast<double>(global.scored);
      loss = loss * weight;
      accuracy *= weight;
    }
    return {loss, accuracy, batch.inputs.numel()};
  }

  EvalResult evaluate(std::uint64_t eval_seed, std::int64_t sequences, const std::atomic<bool>& stop) override {
    const PaperLayout layout = paper_layout(seq_len_);
    const std::int64_t lengths = layout.max_n - layout.min_n + 1;
    return evaluate_batches(sequences, config_.batch, stop, [&](std::int64_t k, std::int64_t batches) {
      // Copied lengths spread evenly over the trained range, one length per batch.
      const std::int64_t n = layout.min_n + k * lengths / batches;
      LmBatch batch = make_lm_batch(eval_seed, static_cast<std::uint64_t>(k), config_.batch, seq_len_, n);
      Tensor prompt = batch.inputs.narrow(1, 0, n + 1);  // [s, 0]
      Tensor out = nn::generate_greedy(model_, prompt.to(config_.device), n);
      return Generated{out.narrow(1, n + 1, n), batch.inputs.narrow(1, 0, n)};  // s: no closing separator
    });
  }

  Tensor sweep_loss(std::int64_t n, std::int64_t batch) override {
    Tensor tokens = randint(0, kVocab, {batch, n + 1}).to(config_.device);
    Tensor logits = model_.forward(tokens.narrow(1, 0, n));
    return cross_entropy(logits, tokens.narrow(1, 1, n).contiguous());
  }

 private:
  Config config_;
  std::int64_t seq_len_;
  nn::CausalLM model_;
};

class Seq2SeqModel final : public CopyModel {
 public:
  Seq2SeqModel(const Config& c, nn::AttentionKind kind, std::int64_t n) : config_(c), n_(n), model_(transformer_config(c, kind)) {
    model_.to(c.device);
  }
  nn::Module& module() override { return model_; }

  BatchResult train_batch(std::uint64_t data_seed, std::uint64_t index, Shard shard) override {
    Seq2SeqBatch batch = shard_of(make_seq2seq_batch(data_seed, index, config_.batch, n_), shard);
    const Device device = config_.device;
    Tensor targets = batch.tgt_out.to(device);
    Tensor logits = model_.forward(batch.src.to(device), batch.tgt_in.to(device));
    return {cross_entropy(logits, targets), scored_accuracy(logits, targets), batch.src.numel() + batch.tgt_in.numel()};
  }

  EvalResult evaluate(std::uint64_t eval_seed, std::int64_t sequences, const std::atomic<bool>& stop) override {
    return evaluate_batches(sequences, config_.batch, stop, [&](std::int64_t k, std::int64_t) {
      Seq2SeqBatch batch = make_seq2seq_batch(eval_seed, static_cast<std::uint64_t>(k), config_.batch, n_);
      return Generated{nn::generate_greedy(model_, batch.src.to(config_.device), 0, n_ + 1), batch.tgt_out};
    });
  }

  Tensor sweep_loss(std::int64_t n, std::int64_t batch) override {
    Seq2SeqBatch b = make_seq2seq_batch(12345, 0, batch, n);
    const Device device = config_.device;
    return cross_entropy(model_.forward(b.src.to(device), b.tgt_in.to(device)), b.tgt_out.to(device));
  }

 private:
  Config config_;
  std::int64_t n_;
  nn::Seq2SeqTransformer model_;
};

}  // namespace

std::unique_ptr<CopyModel> CopyModel::create(const Config& config, nn::AttentionKind kind, std::int64_t seq_len) {
  if (config.protocol == Protocol::Paper) return std::make_unique<LmModel>(config, kind, seq_len);
  if (config.variant == Variant::Notebook) return make_notebook_copy_model(config, kind, seq_len);
  return std::make_unique<Seq2SeqModel>(config, kind, seq_len);
}

}  // namespace copy_task
