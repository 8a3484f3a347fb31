// `ember_bench train`: one copy-task training step (forward, cross entropy, backward, Adam step)
// of a whole model: the paper protocol's CausalLM or the seed protocol's Seq2SeqTransformer.
// Row: op = train_step_<protocol>, kind = attention, B = batch, H = heads, N = sequence length,
// D = d_model.
//
// Under mpirun (in a build with ember::distributed) the step is data-parallel: every rank takes
// its B / ranks rows of the same global batch of B, gradients are averaged by
// DistributedDataParallel, and rank 0 prints the rows (impl = ember_ddp<ranks>): the step time
// (each step starts at a barrier), the time backward ended up waiting for all-reduces
// (op = sync_wait_<protocol>) and the time the same buckets take to all-reduce with nothing else
// running (op = allreduce_<protocol>); 1 - wait / all-reduce is the part hidden behind backward.
#include <ember/ember.h>

#include "bench.h"
#include "common.h"
#ifdef EMBER_BENCH_DISTRIBUTED
#include "distributed/distributed.h"
#endif

namespace ember::bench {

namespace {

struct TrainOptions {
  CommonOptions common;
  std::string protocol = "paper", kind = "softmax";
  std::int64_t d_model = 128, layers = 2, heads = 8, d_ff = 0, batch = 16;
  std::vector<std::int64_t> lengths{32};
};

#ifdef EMBER_BENCH_DISTRIBUTED
// The data-parallel step: this rank's rows of the global batch, DDP averaging the gradients.
void time_data_parallel(nn::Module& model, const std::function<Tensor(const Tensor&, const Tensor&)>& loss_of,
                        const Tensor& src, const Tensor& tgt, optim::Adam& adam, Row row, const CommonOptions& common) {
  const std::int64_t ranks = dist::world_size(), rank = dist::rank();
  const std::int64_t rows = src.size(0) / ranks;
  const Tensor my_src = src.narrow(0, rank * rows, rows).contiguous();
  const Tensor my_tgt = tgt.narrow(0, rank * rows, rows).contiguous();
  dist::DistributedDataParallel ddp(model);
  std::vector<double> waits;
  row.impl = fmt::format("ember_ddp{}", ranks);
  row.seconds = median_seconds([&] {
    dist::barrier();
    Tensor l = loss_of(my_src, my_tgt);
    adam.zero_grad();
    l.backward();
    adam.step();
    waits.push_back(ddp.last_sync().wait_seconds);
  }, common.warmup, common.repeats);
  // The same all-reduces alone: one buffer per bucket, in bucket order.
  std::vector<Tensor> buffers;
  for (const dist::BucketPlan& bucket : ddp.buckets()) buffers.push_back(zeros({bucket.numel}, bucket.dtype));
  const double alone = median_seconds([&] {
    dist::barrier();
    std::vector<dist::Work> works;
    for (const Tensor& b : buffers) works.push_back(dist::all_reduce_async(b, dist::ReduceOp::Avg));
    for (const dist::Work& w : works) w.wait();
  }, common.warmup, common.repeats);
  if (rank != 0) return;
  waits.erase(waits.begin(), waits.begin() + std::min<std::ptrdiff_t>(common.warmup, std::ssize(waits)));
  std::sort(waits.begin(), waits.end());
  print_row(row);
  const std::string protocol = row.op.substr(std::string("train_step_").size());
  row.op = "sync_wait_" + protocol, row.seconds = waits[waits.size() / 2], row.flops = 0;
  print_row(row);
  row.op = "allreduce_" + protocol, row.seconds = alone;
  print_row(row);
  fmt::print(stderr, "ember_bench train: {} ranks, {} buckets, {} gradient bytes per rank per step\n", ranks,
             ddp.buckets().size(), ddp.last_sync().bytes);
}
#endif

void run(const TrainOptions& o) {
  begin(o.common);
#ifdef EMBER_BENCH_DISTRIBUTED
  const bool data_parallel = dist::detect_launcher() != dist::Launcher::None;
  if (data_parallel) {
    dist::init();
    if (o.batch % dist::world_size() != 0)
      throw Error(fmt::format("ember_bench train: --batch {} is not a multiple of the {} ranks", o.batch,
                              dist::world_size()));
  }
#endif
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
    std::function<Tensor(const Tensor&, const Tensor&)> loss_of;  // (source rows, target rows)
    if (o.protocol == "paper") {
      auto lm = std::make_unique<nn::CausalLM>(c);
      loss_of = [N, m = lm.get()](const Tensor&, const Tensor& t) {
        return cross_entropy(m->forward(t.narrow(1, 0, N)), t.narrow(1, 1, N).contiguous());
      };
      model = std::move(lm);
    } else {
      auto s2s = std::make_unique<nn::Seq2SeqTransformer>(c);
      loss_of = [N, m = s2s.get()](const Tensor& s, const Tensor& t) {
        return cross_entropy(m->forward(s, t.narrow(1, 0, N)), t.narrow(1, 1, N).contiguous());
      };
      model = std::move(s2s);
    }
    optim::Adam adam(model->parameters(), optim::AdamOptions{.lr = 1e-4});
    Row row;
    row.op = "train_step_" + o.protocol;
    row.kind = o.kind;
    row.causal = true;
    row.B = o.batch, row.H = o.heads, row.N = N, row.D = o.d_model;
#ifdef EMBER_BENCH_DISTRIBUTED
    if (data_parallel) {
      time_data_parallel(*model, loss_of, src, tgt, adam, row, o.common);
      continue;
    }
#endif
    row.seconds = median_seconds([&] {
      Tensor l = loss_of(src, tgt);
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
  cmd->callback([o] {
    run(*o);
#ifdef EMBER_BENCH_DISTRIBUTED
    dist::finalize();
#endif
  });
}

}  // namespace ember::bench
