// `ember_bench train`: one copy-task training step (forward, cross entropy, backward, Adam step)
// of a whole model: the paper protocol's CausalLM or the seed protocol's Seq2SeqTransformer.
// Row: op = train_step_<protocol>, kind = attention, B = batch, H = heads, N = sequence length,
// D = d_model.
#include <ember/ember.h>

#include "bench.h"
#include "common.h"

namespace ember::bench {

namespace {

struct TrainOptions {
  CommonOptions common;
  std::string protocol = "paper", kind = "softmax";
  std::int64_t d_model = 128, layers = 2, heads = 8, d_ff = 0, batch = 16;
  std::vector<std::int64_t> lengths{32};
};

void run(const TrainOptions& o) {
  begin(o.common);
  nn::TransformerConfig c;
  c.vocab_size = 11;
  c.d_model = o.d_model;
  c.heads = o.heads;
  c.encoder_layers = c.decoder_layers = o.layers;
  c.d_ff = o.d_ff > 0 ? o.d_ff : 4 * o.d_model;
  c.dropout = 0.1;
  c.attention = c.cross_attention = nn::parse_attention_kind(o.kind);
  for (std::int64_t N : o.lengths) {
    manual_seed(0);
    Tensor src = randint(1, 11, {o.batch, N}), tgt = randint(0, 11, {o.batch, N + 1});
    std::unique_ptr<nn::Module> model;
    std::function<Tensor()> loss;
    if (o.protocol == "paper") {
      auto lm = std::make_unique<nn::CausalLM>(c);
      loss = [&, m = lm.get()] { return cross_entropy(m->forward(tgt.narrow(1, 0, N)), tgt.narrow(1, 1, N).contiguous()); };
      model = std::move(lm);
    } else {
      auto s2s = std::make_unique<nn::Seq2SeqTransformer>(c);
      loss = [&, m = s2s.get()] { return cross_entropy(m->forward(src, tgt.narrow(1, 0, N)), tgt.narrow(1, 1, N).contiguous()); };
      model = std::move(s2s);
    }
    optim::Adam adam(model->parameters(), optim::AdamOptions{.lr = 1e-4});
    Row row;
    row.op = "train_step_" + o.protocol;
    row.kind = o.kind;
    row.causal = true;
    row.B = o.batch, row.H = o.heads, row.N = N, row.D = o.d_model;
    row.seconds = median_seconds([&] {
      Tensor l = loss();
      adam.zero_grad();
      l.backward();
      adam.step();
    }, o.common.warmup, o.common.repeats);
    print_row(row);
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "one copy-task training step of a whole model");
  cmd->add_option("--protocol", o->protocol, "paper (CausalLM) or seed (encoder-decoder)")
      ->check(CLI::IsMember({"paper", "seed"}));
  cmd->add_option("--kind", o->kind, "softmax or linear")->check(CLI::IsMember({"softmax", "linear"}));
  cmd->add_option("--d-model", o->d_model, "model width")->check(CLI::PositiveNumber);
  cmd->add_option("--layers", o->layers, "layers (each of encoder and decoder for seed)")->check(CLI::PositiveNumber);
  cmd->add_option("--heads", o->heads, "heads")->check(CLI::PositiveNumber);
  cmd->add_option("--d-ff", o->d_ff, "feed-forward width (0: 4 d_model)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", o->batch, "batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--n", o->lengths, "sequence lengths")->delimiter(',');
  add_common_options(cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace ember::bench
