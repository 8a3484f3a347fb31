// The copy task's run configuration and its command line.
//
// --protocol picks the model family and the study's optimiser settings; --scale picks sizes:
//   paper, full:  CausalLM, 4 layers, 8 heads, d_model 256, d_ff 1024, dropout 0.1, batch 64,
//                 RAdam 1e-3 -> 1e-4 after 3000 of 10000 steps, max length 128 (Katharopoulos et al.)
//   seed, full:   Seq2SeqTransformer 4+4 layers, 8 heads x 64, d_ff 2048, batch 8, Adam 1e-3,
//                 3000 steps, N in {8, 16, 32, 64} (Do & Bergner 2022)
//   small (the default): the same protocol at a size that learns the copy within minutes on
//                 2 CPU cores.
// Any flag given explicitly overrides the preset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ember/ember.h>

namespace copy_task {

enum class Protocol { Paper, Seed };

struct Config {
  Protocol protocol = Protocol::Paper;
  std::string scale = "small";
  std::int64_t layers = 0, heads = 0, d_model = 0, d_ff = 0, batch = 0, steps = 0;
  double lr = 0, lr_drop_factor = 0.1, dropout = 0;
  std::int64_t lr_drop_step = 0;  // 0: no drop
  std::string optimizer;          // "radam" | "adam"
  std::vector<std::int64_t> seq_lens;  // paper: one maximum length; seed: the N of each run
  std::vector<ember::nn::AttentionKind> kinds;
  std::string device = "cpu";
  std::string precision = "fp32";  // "fp32" | "bf16" (autocast: GEMMs and attention in bfloat16)
  int threads = 0;
  std::uint64_t seed = 0;
  std::string out;
  std::int64_t eval_sequences = 0;
  std::int64_t log_every = 0;
  bool sweep = true;
  std::int64_t sweep_max = 0;       // 0: as far as the time budget allows
  double sweep_budget_s = 0;        // total seconds for the sweep
  std::int64_t sweep_batch = 1;
  std::int64_t checkpoint_every = 0;
  std::string resume;
  bool resumed = false;

  ember::Device device_value() const;
  std::string describe() const;  // one line per setting, for report.md
};

// Parses argv. On --help prints usage and returns nullopt with exit_code 0; on a bad flag or value
// prints one line naming the problem and returns nullopt with exit_code 2.
std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code);

}  // namespace copy_task
