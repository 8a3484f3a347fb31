// Command line of the copy task (CLI11) and the protocol/scale presets.
#include "config.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>

namespace copy_task {

namespace {

struct Preset {
  std::int64_t layers, heads, d_model, d_ff, batch, steps, lr_drop_step, eval_sequences;
  double lr, dropout;
  const char* optimizer;
  std::vector<std::int64_t> seq_lens;
  std::int64_t sweep_max;
  double sweep_budget_s;
};

Preset preset(Protocol protocol, const std::string& scale) {
  const bool full = scale == "full";
  if (protocol == Protocol::Paper) {
    if (full) return {4, 8, 256, 1024, 64, 10000, 3000, 1024, 1e-3, 0.1, "radam", {128}, 65536, 1800};
    return {3, 4, 96, 192, 32, 5000, 3500, 256, 1e-3, 0.0, "radam", {10}, 4096, 60};
  }
  if (full) return {4, 8, 512, 2048, 8, 3000, 0, 1024, 1e-3, 0.1, "adam", {8, 16, 32, 64}, 65536, 1800};
  return {2, 4, 64, 128, 16, 600, 0, 128, 1e-3, 0.0, "adam", {8}, 1024, 60};
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", std::localtime(&now));
  return buffer;
}

}  // namespace

ember::Device Config::device_value() const {
  if (device == "cuda") return ember::kCUDA;
  return ember::kCPU;
}

std::string Config::describe() const {
  std::string kinds_text;
  for (auto k : kinds) kinds_text += (kinds_text.empty() ? "" : ", ") + ember::nn::attention_kind_name(k);
  return fmt::format(
      "| protocol | {} |\n| scale | {} |\n| layers | {} |\n| heads | {} |\n| d_model | {} |\n| d_ff | {} |\n"
      "| dropout | {} |\n| batch | {} |\n| steps | {} |\n| optimizer | {} |\n| lr | {} |\n| lr drop | x{} at step {} |\n"
      "| sequence lengths | {} |\n| attention | {} |\n| device | {} |\n| precision | {} |\n| threads | {} |\n| seed | {} |\n",
      protocol == Protocol::Paper ? "paper (decoder-only)" : "seed (encoder-decoder)", scale, layers, heads, d_model,
      d_ff, dropout, batch, steps, optimizer, lr, lr_drop_factor, lr_drop_step, fmt::join(seq_lens, ", "), kinds_text,
      device, precision, threads > 0 ? threads : ember::get_num_threads(), seed);
}

std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code) {
  CLI::App app{"Ember copy task: replicates and extends 'Replication of Transformers are RNNs' "
               "(Do & Bergner 2022). Trains softmax and linear attention Transformers to copy "
               "sequences, evaluates them by greedy generation, times both up to long sequences, "
               "and writes CSVs, plots and report.md."};
  Config c;
  std::string protocol = "paper", attention = "both";
  app.add_option("--protocol", protocol, "paper: decoder-only CausalLM (Katharopoulos et al.); seed: encoder-decoder (Do & Bergner)")
      ->check(CLI::IsMember({"paper", "seed"}));
  app.add_option("--scale", c.scale, "small (default; minutes on 2 CPU cores) or full (the study's sizes)")
      ->check(CLI::IsMember({"small", "full"}));
  app.add_option("--layers", c.layers, "decoder layers (and encoder layers for seed)")->check(CLI::PositiveNumber);
  app.add_option("--heads", c.heads, "attention heads")->check(CLI::PositiveNumber);
  app.add_option("--d-model", c.d_model, "model width (a multiple of --heads)")->check(CLI::PositiveNumber);
  app.add_option("--d-ff", c.d_ff, "feed-forward width")->check(CLI::PositiveNumber);
  app.add_option("--dropout", c.dropout, "dropout probability")->check(CLI::Range(0.0, 0.99));
  app.add_option("--batch", c.batch, "sequences per step")->check(CLI::PositiveNumber);
  app.add_option("--steps", c.steps, "training steps per run")->check(CLI::NonNegativeNumber);
  app.add_option("--lr", c.lr, "learning rate")->check(CLI::PositiveNumber);
  app.add_option("--lr-drop-step", c.lr_drop_step, "multiply the lr by --lr-drop-factor at this step (0: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lr-drop-factor", c.lr_drop_factor, "factor of the lr drop")->check(CLI::Range(0.0, 1.0));
  app.add_option("--optimizer", c.optimizer, "radam or adam")->check(CLI::IsMember({"radam", "adam"}));
  app.add_option("--seq-lens,--seq-len", c.seq_lens,
                 "paper: maximum copied length; seed: copied length of each run (comma-separated)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--attention", attention, "softmax, linear or both")->check(CLI::IsMember({"softmax", "linear", "both"}));
  app.add_option("--device", c.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--precision", c.precision,
                 "fp32, or bf16: matmuls and attention read bfloat16 under autocast, weights stay float32 "
                 "(fast on CUDA; emulated, hence slower, on the CPU)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--threads", c.threads, "CPU threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", c.seed, "random seed (model init, data, dropout)");
  app.add_option("--out", c.out, "output folder (default results/copy_task/<timestamp>)");
  app.add_option("--eval-sequences", c.eval_sequences, "held-out sequences for evaluation")->check(CLI::PositiveNumber);
  app.add_option("--log-every", c.log_every, "steps between metrics.csv rows (0: about 50 rows)")->check(CLI::NonNegativeNumber);
  bool no_sweep = false;
  app.add_flag("--no-sweep", no_sweep, "skip the timing sweep");
  app.add_option("--sweep-max", c.sweep_max, "largest N of the timing sweep (a power of 2)")->check(CLI::PositiveNumber);
  app.add_option("--sweep-budget", c.sweep_budget_s, "seconds the timing sweep may take")->check(CLI::PositiveNumber);
  app.add_option("--sweep-batch", c.sweep_batch, "batch size of the timing sweep")->check(CLI::PositiveNumber);
  app.add_option("--checkpoint-every", c.checkpoint_every, "steps between checkpoints (0: none)")->check(CLI::NonNegativeNumber);
  app.add_option("--resume", c.resume, "continue the run in this output folder (or from this checkpoint file)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    exit_code = 0;
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "copy_task: {}\nRun with --help for the list of flags.\n", e.what());
    exit_code = 2;
    return std::nullopt;
  }
  c.protocol = protocol == "paper" ? Protocol::Paper : Protocol::Seed;
  Preset p = preset(c.protocol, c.scale);
  auto pick = [](auto& value, auto fallback) {
    if (value == 0) value = fallback;
  };
  pick(c.layers, p.layers);
  pick(c.heads, p.heads);
  pick(c.d_model, p.d_model);
  pick(c.d_ff, p.d_ff);
  pick(c.batch, p.batch);
  if (app.count("--steps") == 0) c.steps = p.steps;
  if (app.count("--lr-drop-step") == 0) c.lr_drop_step = p.lr_drop_step;
  if (app.count("--dropout") == 0) c.dropout = p.dropout;
  pick(c.lr, p.lr);
  pick(c.eval_sequences, p.eval_sequences);
  pick(c.sweep_max, p.sweep_max);
  pick(c.sweep_budget_s, p.sweep_budget_s);
  if (c.optimizer.empty()) c.optimizer = p.optimizer;
  if (c.seq_lens.empty()) c.seq_lens = p.seq_lens;
  if (c.protocol == Protocol::Paper && c.seq_lens.size() != 1) {
    fmt::print(stderr, "copy_task: --seq-len for the paper protocol is one maximum length, got {} values\n", c.seq_lens.size());
    exit_code = 2;
    return std::nullopt;
  }
  if (c.d_model % c.heads != 0) {
    fmt::print(stderr, "copy_task: --d-model {} is not a multiple of --heads {}\n", c.d_model, c.heads);
    exit_code = 2;
    return std::nullopt;
  }
  c.sweep = !no_sweep;
  if (attention == "both") {
    c.kinds = {ember::nn::AttentionKind::Softmax, ember::nn::AttentionKind::Linear};
  } else {
    c.kinds = {ember::nn::parse_attention_kind(attention)};
  }
  if (c.device == "auto") c.device = ember::cuda_is_available() ? "cuda" : "cpu";
  if (c.device == "cuda" && !ember::cuda_is_available()) {
    fmt::print(stderr, "copy_task: --device cuda, but no CUDA device is available ({})\n",
               ember::backend_info());
    exit_code = 2;
    return std::nullopt;
  }
  if (!c.resume.empty()) {
    std::filesystem::path r(c.resume);
    c.out = std::filesystem::is_directory(r) ? r.string() : r.parent_path().string();
    c.resumed = true;
  }
  if (c.out.empty()) c.out = "results/copy_task/" + timestamp();
  if (c.log_every == 0) c.log_every = std::max<std::int64_t>(1, c.steps / 50);
  return c;
}

}  // namespace copy_task
