// The training loop and its bookkeeping (see trainer.h).
#include "trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "checkpoint.h"
#include "exit_codes.h"
#include "optimization.h"
#include "progress.h"
#include "ranks.h"

using namespace ember;

namespace copy_task {

namespace {

constexpr const char* kMetricsHeader = "step,attention,seq_len,loss,token_acc,lr,elapsed_s,tokens_per_s,seed";
constexpr std::size_t kColumnsBeforeSeeds = 8;  // files written before --seeds lack the seed column
// The held-out and test streams of a run are keyed by its seed XOR these. Seeds s .. s + K - 1
// (K <= 1000 < 2^10) differ above bit 9 only by a carry, an XOR of consecutive ones from bit 10 up;
// neither constant nor their XOR has that form, so no run's stream is another run's.
constexpr std::uint64_t kEvalSeedOffset = 0x9E3779B97F4A7C15ull;  // held-out stream: a different seed
constexpr std::uint64_t kTestSeedOffset = 0xD1B54A32D192ED03ull;  // the periodic test's stream

std::string format_row(const MetricsRow& r) {
  return fmt::format("{},{},{},{:.6f},{:.6f},{:.6g},{:.3f},{:.1f},{}", r.step, r.attention, r.seq_len, r.loss,
                     r.token_acc, r.lr, r.elapsed_s, r.tokens_per_s, r.seed);
}

std::optional<MetricsRow> parse_row(const std::string& line, std::uint64_t seed_of_old_rows) {
  MetricsRow r;
  std::stringstream in(line);
  std::string field;
  std::vector<std::string> fields;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (fields.size() != kColumnsBeforeSeeds && fields.size() != kColumnsBeforeSeeds + 1) return std::nullopt;
  try {
    r.step = std::stoll(fields[0]);
    r.attention = fields[1];
    r.seq_len = std::stoll(fields[2]);
    r.loss = std::stod(fields[3]);
    r.token_acc = std::stod(fields[4]);
    r.lr = std::stod(fields[5]);
    r.elapsed_s = std::stod(fields[6]);
    r.tokens_per_s = std::stod(fields[7]);
    r.seed = fields.size() > kColumnsBeforeSeeds ? std::stoull(fields[8]) : seed_of_old_rows;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return r;
}

nn::Metadata run_identity(const Config& c, const RunId& run) {
  nn::Metadata identity{
      {"protocol", choice_name(c.protocol)},
      {"attention", nn::attention_kind_name(run.kind)},
      {"seq_len", std::to_string(run.seq_len)},
      {"layers", std::to_string(c.layers)},
      {"heads", std::to_string(c.heads)},
      {"d_model", std::to_string(c.d_model)},
      {"d_ff", std::to_string(c.d_ff)},
      {"batch", std::to_string(c.batch)},
      {"steps", std::to_string(c.steps)},
      {"optimizer", choice_name(c.optimizer)},
      {"weight_decay", fmt::format("{}", c.weight_decay)},
      {"clip_per_tensor", fmt::format("{}", c.clip_per_tensor)},
      {"lr", fmt::format("{}", c.lr)},
      {"lr_drop_step", std::to_string(c.lr_drop_step)},
      {"lr_drop_factor", fmt::format("{}", c.lr_drop_factor)},
      {"dropout", fmt::format("{}", c.dropout)},
      {"precision", choice_name(c.precision)},
      {"seed", std::to_string(run.seed)}
  };
  // Paper checkpoints written before the authors' layout and model (seq_len was then the longest
  // copy) do not resume into them: they lack these entries.
  if (c.protocol == Protocol::Paper) {
    identity["paper_layout"] = "L tokens, n in [L/4, (L-1)/2 - 1], scored n-1..2n-1";
    identity["paper_model"] = "half-width token embedding + half-width sinusoid, final LayerNorm";
  }
  // Text-variant checkpoints, like those written before --variant, carry no variant entry.
  if (c.variant == Variant::Notebook) identity["variant"] = choice_name(c.variant);
  // Likewise elu(x)+1 checkpoints, the only kind before --feature-map.
  if (c.feature_map != FeatureMapChoice::Elu) identity["feature_map"] = choice_name(c.feature_map);
  return identity;
}

// "softmax_8", or "softmax_8_seed3" when the run is one of several seeds.
std::string run_file_stem(const Config& config, const RunId& run) {
  const std::string stem = fmt::format("{}_{}", nn::attention_kind_name(run.kind), run.seq_len);
  return config.seeds > 1 ? fmt::format("{}_seed{}", stem, run.seed) : stem;
}

// A checkpoint that cannot be written (a full disk) is an environment failure. Every rank calls it
// (each hands in its generator state); rank 0 writes.
void save(const std::string& path, const TrainingParts& parts, std::int64_t step, double elapsed_s, bool finished,
          const nn::Metadata& identity) {
  const auto generator_states = gather_generator_states();
  if (!is_main_rank()) return;
  try {
    save_checkpoint(path, parts, step, elapsed_s, finished, identity, generator_states);
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
}

// The periodic test after `step`: batches never used for training (a seed of their own, an index
// per test), the mean of the per-batch masked loss and accuracy as main.py reports it. Nothing
// once `stop` is set: the run is about to be checkpointed and end.
std::optional<MetricsRow> teacher_forced_test(CopyModel& model, const Config& c, const RunId& run, std::int64_t step,
                                              double lr, double elapsed_s, const std::atomic<bool>& stop) {
  const auto started = std::chrono::steady_clock::now();
  NoGradGuard no_grad;
  ember::AutocastGuard autocast(ember::kBFloat16, c.precision == Precision::Bf16);
  model.module().eval();
  double loss = 0, acc = 0;
  std::int64_t tokens = 0;
  const std::uint64_t first = static_cast<std::uint64_t>(step / kTestEvery * kTestBatches);
  for (std::int64_t k = 0; k < kTestBatches && !stop.load(); ++k) {
    BatchResult batch = model.train_batch(run.seed ^ kTestSeedOffset, first + static_cast<std::uint64_t>(k));
    loss += batch.loss.item<double>();
    acc += batch.token_acc;
    tokens += batch.tokens;
  }
  model.module().train();
  if (stop.load()) return std::nullopt;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double tokens_per_s = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
  return MetricsRow{step, nn::attention_kind_name(run.kind), run.seq_len, loss / kTestBatches, acc / kTestBatches,
                    lr, elapsed_s, tokens_per_s, run.seed};
}

}  // namespace

std::string run_label(const Config& config, const RunId& run) {
  const std::string label = fmt::format("{} N={}", nn::attention_kind_name(run.kind), run.seq_len);
  return config.seeds > 1 ? fmt::format("{} seed {}", label, run.seed) : label;
}

MetricsLog::MetricsLog(std::string path, std::uint64_t seed_of_old_rows) : path_(std::move(path)) {
  if (!is_main_rank()) return;  // rank 0 alone keeps the files
  std::ifstream in(path_);
  std::string line;
  if (in && std::getline(in, line)) {  // header
    while (std::getline(in, line))
      if (auto row = parse_row(line, seed_of_old_rows)) rows_.push_back(*row);
  }
  write();
}

void MetricsLog::write() const {
  if (!is_main_rank()) return;
  std::string text = std::string(kMetricsHeader) + "\n";
  for (const auto& r : rows_) text += format_row(r) + "\n";
  try {
    nn::write_file_atomically(path_, text);
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
}

void MetricsLog::truncate_after(const RunId& run, std::int64_t step) {
  const std::string attention = nn::attention_kind_name(run.kind);
  std::erase_if(rows_, [&](const MetricsRow& r) {
    return r.attention == attention && r.seq_len == run.seq_len && r.seed == run.seed && r.step > step;
  });
  write();
}

void MetricsLog::append(const MetricsRow& row) {
  rows_.push_back(row);
  try {
    write();
  } catch (...) {
    rows_.pop_back();
    throw;
  }
}

std::string checkpoint_path(const Config& config, const RunId& run) {
  return fmt::format("{}/checkpoint_{}.safetensors", config.out, run_file_stem(config, run));
}

std::string weights_path(const Config& config, const RunId& run) {
  return fmt::format("{}/model_{}.safetensors", config.out, run_file_stem(config, run));
}

RunResult train_run(const Config& config, const RunId& run, MetricsLog& log, MetricsLog* test_log,
                    const std::atomic<bool>& stop) {
  const nn::AttentionKind kind = run.kind;
  const std::int64_t seq_len = run.seq_len;
  // Same initial weights for a given seed whether the run is fresh or resumed.
  manual_seed(run.seed);
  auto model = CopyModel::create(config, kind, seq_len);
  model->module().train();
  // Under mpirun: gradients averaged over the ranks, and each rank's dropout masks from a stream of
  // its own (rank 0's is the single-process stream).
  const GradientAveraging averaging(model->module());
  if (rank() > 0) {
    Generator& gen = default_generator();
    gen.set_state(gen.seed(), gen.offset() + (static_cast<std::uint64_t>(rank()) << 48));
  }
  const std::vector<Tensor> parameters = model->module().parameters();
  Optimization optimization = make_optimization(config, parameters);
  optim::Optimizer& optimizer = *optimization.optimizer;
  optim::LRScheduler* scheduler = optimization.scheduler.get();
  TrainingParts parts{model->module(), optimizer, scheduler};
  const auto identity = run_identity(config, run);
  const std::string name = nn::attention_kind_name(kind), label = run_label(config, run);
  const std::string ckpt = checkpoint_path(config, run);

  RunResult result;
  result.kind = kind;
  result.seq_len = seq_len;
  result.seed = run.seed;
  std::int64_t start_step = 0;
  double elapsed_before = 0;  // training seconds spent before a resume
  if (config.resumed && std::filesystem::exists(ckpt)) {
    LoadedCheckpoint loaded = load_checkpoint(ckpt, parts, identity, config.steps, my_shard());
    start_step = loaded.step;
    elapsed_before = loaded.elapsed_s;
    log.truncate_after(run, start_step);
    if (test_log) test_log->truncate_after(run, start_step);
    if (is_main_rank()) fmt::print("{}: resumed at step {}\n", label, start_step);
  } else if (config.resumed) {
    log.truncate_after(run, 0);
    if (test_log) test_log->truncate_after(run, 0);
  }

  const std::string seed_label = config.seeds > 1 ? fmt::format(" seed {}", run.seed) : "";
  std::optional<Progress> progress;  // printed by rank 0
  if (is_main_rank()) progress.emplace(fmt::format("{:>7} N={:<5}{}", name, seq_len, seed_label), config.steps);
  auto started = std::chrono::steady_clock::now();
  std::int64_t tokens_since_log = 0;
  auto last_log = started;
  for (std::int64_t step = start_step + 1; step <= config.steps; ++step) {
    BatchResult batch = [&] {
      ember::AutocastGuard autocast(ember::kBFloat16, config.precision == Precision::Bf16);
      return model->train_batch(run.seed, static_cast<std::uint64_t>(step), my_shard());
    }();
    optimizer.zero_grad();
    batch.loss.backward();  // under mpirun, returns with the gradients averaged over the ranks
    apply_update(config, optimizer, parameters);
    const double lr = optimizer.param_groups().front().lr.value();
    if (scheduler) scheduler->step();
    // The global batch's loss, accuracy and tokens (each rank's loss is weighted for this average).
    const std::vector<double> global =
        average_over_ranks({batch.loss.item<double>(), batch.token_acc, static_cast<double>(batch.tokens)});
    batch.token_acc = global[1];
    tokens_since_log += static_cast<std::int64_t>(std::llround(global[2] * ranks()));
    result.final_loss = global[0];
    if (!std::isfinite(result.final_loss)) {
      if (is_main_rank())
        fmt::print("{}: the loss is {} at step {}: training diverged and stops here\n", label, result.final_loss, step);
      result.diverged = true;
      if (progress) progress->finish();
      result.steps = step;
      return result;
    }
    result.final_train_acc = batch.token_acc;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = elapsed_before + std::chrono::duration<double>(now - started).count();
    const double interval = std::chrono::duration<double>(now - last_log).count();
    const double tokens_per_s = interval > 0 ? tokens_since_log / interval : 0;
    if (progress) progress->update(step, result.final_loss, batch.token_acc, tokens_per_s);
    if (step % config.log_every == 0 || step == config.steps) {
      log.append({step, name, seq_len, result.final_loss, batch.token_acc, lr, elapsed, tokens_per_s, run.seed});
      tokens_since_log = 0;
      last_log = now;
    }
    if (test_log && step % kTestEvery == 0) {
      const auto test_started = std::chrono::steady_clock::now();
      auto row = teacher_forced_test(*model, config, run, step, lr, elapsed, stop);
      if (row) test_log->append(*row);
      // The test's time is not training time: elapsed_s and tokens_per_s leave it out.
      const auto test_time = std::chrono::steady_clock::now() - test_started;
      started += test_time;
      last_log += test_time;
    }
    // --test-signal-at: SIGINT/SIGTERM reach the stop handler before the check below; SIGKILL ends here.
    if (config.test_signal && config.test_signal->step == step) std::raise(config.test_signal->signal);
    const bool checkpoint_due = config.checkpoint_every > 0 && step % config.checkpoint_every == 0;
    const bool stopping = on_any_rank(stop.load());  // every rank stops at the same step
    if (checkpoint_due || stopping) save(ckpt, parts, step, elapsed, false, identity);
    if (stopping) {
      if (progress) progress->finish();
      result.interrupted = true;
      result.steps = step;
      return result;
    }
  }
  if (progress) progress->finish();
  result.steps = config.steps;
  result.train_seconds = elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  save(ckpt, parts, config.steps, result.train_seconds, true, identity);
  if (!is_main_rank()) return result;  // rank 0 evaluates; the others are done
  try {
    nn::save(model->module(), weights_path(config, run));
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
  result.eval = model->evaluate(run.seed ^ kEvalSeedOffset, config.eval_sequences, stop);
  result.interrupted = result.eval.interrupted;
  return result;
}

}  // namespace copy_task
