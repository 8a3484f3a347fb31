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
#include "progress.h"

using namespace ember;

namespace copy_task {

namespace {

constexpr const char* kMetricsHeader = "step,attention,seq_len,loss,token_acc,lr,elapsed_s,tokens_per_s";
constexpr std::uint64_t kEvalSeedOffset = 0x9E3779B97F4A7C15ull;  // held-out stream: a different seed
constexpr std::uint64_t kTestSeedOffset = 0xD1B54A32D192ED03ull;  // the periodic test's stream

std::string format_row(const MetricsRow& r) {
  return fmt::format("{},{},{},{:.6f},{:.6f},{:.6g},{:.3f},{:.1f}", r.step, r.attention, r.seq_len, r.loss, r.token_acc,
                     r.lr, r.elapsed_s, r.tokens_per_s);
}

std::optional<MetricsRow> parse_row(const std::string& line) {
  MetricsRow r;
  std::stringstream in(line);
  std::string field;
  std::vector<std::string> fields;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (fields.size() != 8) return std::nullopt;
  try {
    r.step = std::stoll(fields[0]);
    r.attention = fields[1];
    r.seq_len = std::stoll(fields[2]);
    r.loss = std::stod(fields[3]);
    r.token_acc = std::stod(fields[4]);
    r.lr = std::stod(fields[5]);
    r.elapsed_s = std::stod(fields[6]);
    r.tokens_per_s = std::stod(fields[7]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return r;
}

nn::Metadata run_identity(const Config& c, nn::AttentionKind kind, std::int64_t seq_len) {
  nn::Metadata identity{
      {"protocol", choice_name(c.protocol)},
      {"attention", nn::attention_kind_name(kind)},
      {"seq_len", std::to_string(seq_len)},
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
      {"seed", std::to_string(c.seed)}
  };
  // Paper checkpoints written before the authors' layout and model (seq_len was then the longest
  // copy) do not resume into them: they lack these entries.
  if (c.protocol == Protocol::Paper) {
    identity["paper_layout"] = "L tokens, n in [L/4, (L-1)/2 - 1], scored n-1..2n-1";
    identity["paper_model"] = "half-width token embedding + half-width sinusoid, final LayerNorm";
  }
  // Text-variant checkpoints, like those written before --variant, carry no variant entry.
  if (c.variant == Variant::Notebook) identity["variant"] = choice_name(c.variant);
  return identity;
}

// A checkpoint that cannot be written (a full disk) is an environment failure.
void save(const std::string& path, const TrainingParts& parts, std::int64_t step, double elapsed_s, bool finished,
          const nn::Metadata& identity) {
  try {
    save_checkpoint(path, parts, step, elapsed_s, finished, identity);
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
}

// The periodic test after `step`: batches never used for training (a seed of their own, an index
// per test), the mean of the per-batch masked loss and accuracy as main.py reports it. Nothing
// once `stop` is set: the run is about to be checkpointed and end.
std::optional<MetricsRow> teacher_forced_test(CopyModel& model, const Config& c, std::int64_t step,
                                              const std::string& name, std::int64_t seq_len, double lr,
                                              double elapsed_s, const std::atomic<bool>& stop) {
  const auto started = std::chrono::steady_clock::now();
  NoGradGuard no_grad;
  ember::AutocastGuard autocast(ember::kBFloat16, c.precision == Precision::Bf16);
  model.module().eval();
  double loss = 0, acc = 0;
  std::int64_t tokens = 0;
  const std::uint64_t first = static_cast<std::uint64_t>(step / kTestEvery * kTestBatches);
  for (std::int64_t k = 0; k < kTestBatches && !stop.load(); ++k) {
    BatchResult batch = model.train_batch(c.seed ^ kTestSeedOffset, first + static_cast<std::uint64_t>(k));
    loss += batch.loss.item<double>();
    acc += batch.token_acc;
    tokens += batch.tokens;
  }
  model.module().train();
  if (stop.load()) return std::nullopt;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double tokens_per_s = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
  return MetricsRow{step, name, seq_len, loss / kTestBatches, acc / kTestBatches, lr, elapsed_s, tokens_per_s};
}

}  // namespace

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  if (in && std::getline(in, line)) {  // header
    while (std::getline(in, line))
      if (auto row = parse_row(line)) rows_.push_back(*row);
  }
  write();
}

void MetricsLog::write() const {
  std::string text = std::string(kMetricsHeader) + "\n";
  for (const auto& r : rows_) text += format_row(r) + "\n";
  try {
    nn::write_file_atomically(path_, text);
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
}

void MetricsLog::truncate_after(const std::string& attention, std::int64_t seq_len, std::int64_t step) {
  std::erase_if(rows_, [&](const MetricsRow& r) { return r.attention == attention && r.seq_len == seq_len && r.step > step; });
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

std::string checkpoint_path(const Config& config, nn::AttentionKind kind, std::int64_t seq_len) {
  return fmt::format("{}/checkpoint_{}_{}.safetensors", config.out, nn::attention_kind_name(kind), seq_len);
}

std::string weights_path(const Config& config, nn::AttentionKind kind, std::int64_t seq_len) {
  return fmt::format("{}/model_{}_{}.safetensors", config.out, nn::attention_kind_name(kind), seq_len);
}

RunResult train_run(const Config& config, nn::AttentionKind kind, std::int64_t seq_len, MetricsLog& log,
                    MetricsLog* test_log, const std::atomic<bool>& stop) {
  // Same initial weights for a given seed whether the run is fresh or resumed.
  manual_seed(config.seed);
  auto model = CopyModel::create(config, kind, seq_len);
  model->module().train();
  std::unique_ptr<optim::Optimizer> optimizer;
  const std::vector<Tensor> parameters = model->module().parameters();
  if (config.optimizer == OptimizerKind::RAdam) {
    optimizer = std::make_unique<optim::RAdam>(
        parameters, optim::RAdamOptions{.lr = config.lr, .weight_decay = config.weight_decay,
                                        .decoupled_weight_decay = true});
  } else if (config.weight_decay > 0) {  // decoupled, as for RAdam
    optimizer = std::make_unique<optim::AdamW>(
        parameters, optim::AdamWOptions{.lr = config.lr, .weight_decay = config.weight_decay});
  } else {
    optimizer = std::make_unique<optim::Adam>(parameters, optim::AdamOptions{.lr = config.lr});
  }
  // One drop, at lr_drop_step (main.py's LambdaLR), not one every lr_drop_step steps.
  std::unique_ptr<optim::LRScheduler> scheduler;
  if (config.lr_drop_step > 0)
    scheduler = std::make_unique<optim::MultiStepLR>(*optimizer, std::vector<std::int64_t>{config.lr_drop_step},
                                                     config.lr_drop_factor);
  TrainingParts parts{model->module(), *optimizer, scheduler.get()};
  const auto identity = run_identity(config, kind, seq_len);
  const std::string name = nn::attention_kind_name(kind);
  const std::string ckpt = checkpoint_path(config, kind, seq_len);

  RunResult result;
  result.kind = kind;
  result.seq_len = seq_len;
  std::int64_t start_step = 0;
  double elapsed_before = 0;  // training seconds spent before a resume
  if (config.resumed && std::filesystem::exists(ckpt)) {
    LoadedCheckpoint loaded = load_checkpoint(ckpt, parts, identity, config.steps);
    start_step = loaded.step;
    elapsed_before = loaded.elapsed_s;
    log.truncate_after(name, seq_len, start_step);
    if (test_log) test_log->truncate_after(name, seq_len, start_step);
    fmt::print("{} N={}: resumed at step {}\n", name, seq_len, start_step);
  } else if (config.resumed) {
    log.truncate_after(name, seq_len, 0);
    if (test_log) test_log->truncate_after(name, seq_len, 0);
  }

  Progress progress(fmt::format("{:>7} N={:<5}", name, seq_len), config.steps);
  auto started = std::chrono::steady_clock::now();
  std::int64_t tokens_since_log = 0;
  auto last_log = started;
  for (std::int64_t step = start_step + 1; step <= config.steps; ++step) {
    BatchResult batch = [&] {
      ember::AutocastGuard autocast(ember::kBFloat16, config.precision == Precision::Bf16);
      return model->train_batch(config.seed, static_cast<std::uint64_t>(step));
    }();
    optimizer->zero_grad();
    batch.loss.backward();
    // radam.py clips each parameter's gradient on its own (clip_grad_norm_(p, max_grad_norm)).
    if (config.clip_per_tensor > 0)
      for (const Tensor& p : parameters) optim::clip_grad_norm({p}, config.clip_per_tensor);
    optimizer->step();
    const double lr = optimizer->param_groups().front().lr.value();
    if (scheduler) scheduler->step();
    tokens_since_log += batch.tokens;
    result.final_loss = batch.loss.item<double>();
    if (!std::isfinite(result.final_loss)) {
      fmt::print("{} N={}: the loss is {} at step {}: training diverged and stops here\n", name, seq_len,
                 result.final_loss, step);
      result.diverged = true;
      progress.finish();
      result.steps = step;
      return result;
    }
    result.final_train_acc = batch.token_acc;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = elapsed_before + std::chrono::duration<double>(now - started).count();
    const double interval = std::chrono::duration<double>(now - last_log).count();
    const double tokens_per_s = interval > 0 ? tokens_since_log / interval : 0;
    progress.update(step, result.final_loss, batch.token_acc, tokens_per_s);
    if (step % config.log_every == 0 || step == config.steps) {
      log.append({step, name, seq_len, result.final_loss, batch.token_acc, lr, elapsed, tokens_per_s});
      tokens_since_log = 0;
      last_log = now;
    }
    if (test_log && step % kTestEvery == 0) {
      const auto test_started = std::chrono::steady_clock::now();
      auto row = teacher_forced_test(*model, config, step, name, seq_len, lr, elapsed, stop);
      if (row) test_log->append(*row);
      // The test's time is not training time: elapsed_s and tokens_per_s leave it out.
      const auto test_time = std::chrono::steady_clock::now() - test_started;
      started += test_time;
      last_log += test_time;
    }
    // --test-signal-at: SIGINT/SIGTERM reach the stop handler before the check below; SIGKILL ends here.
    if (config.test_signal && config.test_signal->step == step) std::raise(config.test_signal->signal);
    const bool checkpoint_due = config.checkpoint_every > 0 && step % config.checkpoint_every == 0;
    if (checkpoint_due || stop.load()) save(ckpt, parts, step, elapsed, false, identity);
    if (stop.load()) {
      progress.finish();
      result.interrupted = true;
      result.steps = step;
      return result;
    }
  }
  progress.finish();
  result.steps = config.steps;
  result.train_seconds = elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  try {
    nn::save(model->module(), weights_path(config, kind, seq_len));
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
  save(ckpt, parts, config.steps, result.train_seconds, true, identity);
  result.eval = model->evaluate(config.seed ^ kEvalSeedOffset, config.eval_sequences, stop);
  result.interrupted = result.eval.interrupted;
  return result;
}

}  // namespace copy_task
