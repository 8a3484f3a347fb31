// The copy task's run configuration and its command line.
//
// --protocol picks the model family and the study's optimiser settings; --scale picks sizes:
//   paper, full:  CausalLM, 4 layers, 8 heads, d_model 256, d_ff 1024, dropout 0.1, batch 64,
//                 RAdam 1e-3 -> 1e-4 after 3000 of 10000 steps (decoupled weight decay 0.01, each
//                 parameter's grad norm clipped to 1), sequences of 128 tokens copying 32..62
//                 symbols (Katharopoulos et al.; the layout and loss mask are in data.h, the model
//                 in model.cpp)
//   seed, full:   Seq2SeqTransformer 4+4 layers, 8 heads x 64, d_ff 2048, batch 8, Adam 1e-3,
//                 3000 steps, N in {8, 16, 32, 64} (Do & Bergner 2022)
//   seed, full, --variant notebook: what the study's notebook ran (notebook_model.h): 4+4 layers
//                 built (2 encoder layers run), 8 heads, d_model 512, d_ff 1024, dropout 0.1,
//                 batch 8, Adam 1e-4, 3000 steps, N in {8, 16, 32, 64} tokens (start and end included)
//   small (the default): the same protocol at a size that learns the copy within minutes on
//                 2 CPU cores; paper small is the paper layout at L = 24 (n in 6..10); seed small
//                 notebook is 2+2 layers, d_model 64, 4 heads, d_ff 128, dropout 0.1, batch 8, N = 8,
//                 600 steps at lr 1e-3 (at the notebook's 1e-4 it learns little in 600 steps).
// Any flag given explicitly overrides the preset.
//
// A run folder has an identity: run.json holds the resolved configuration, written when the run
// starts. `--resume DIR` alone continues that run with that configuration; a flag given with it
// must agree with run.json, except --threads (allowed, with a note that bit-identity then is not
// guaranteed), --checkpoint-every (changes no result), --inspect (adds files, changes no result) and
// --test-signal-at. Everything that can
// fail is checked here, before the folder is touched: flag values, the output folder, the memory
// the run would need. Choices are read into enums here (choices.h) and stay enums.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ember/ember.h>
#include <nlohmann/json.hpp>

#include "choices.h"
#include "stop_signal.h"  // ScheduledSignal

namespace copy_task {

struct Config {
  Protocol protocol = Protocol::Paper;
  Variant variant = Variant::Text;  // seed protocol only
  Scale scale = Scale::Small;
  std::int64_t layers = 0, heads = 0, d_model = 0, d_ff = 0, batch = 0, steps = 0;
  double lr = 0, lr_drop_factor = 0.1, dropout = 0;
  std::int64_t lr_drop_step = 0;  // 0: no drop
  OptimizerKind optimizer = OptimizerKind::RAdam;
  double weight_decay = 0;        // decoupled (param *= 1 - lr wd), as the authors' radam.py
  double clip_per_tensor = 0;     // each parameter's grad norm clipped to this before the step (0: none)
  std::vector<std::int64_t> seq_lens;  // paper: one sequence length L; seed: the N of each run
  std::vector<ember::nn::AttentionKind> kinds;
  ember::Device device = ember::kCPU;
  Precision precision = Precision::Fp32;
  FeatureMapChoice feature_map = FeatureMapChoice::Elu;  // linear attention's phi
  int threads = 0;
  std::uint64_t seed = 0;
  std::int64_t seeds = 1;  // --seeds K: K runs per (kind, N), run k with seed + k (weights, dropout and data)
  std::string out;
  std::int64_t eval_sequences = 0;
  std::int64_t log_every = 0;
  bool sweep = true;
  std::int64_t sweep_max = 0;       // 0: as far as the time budget allows
  double sweep_budget_s = 0;        // total seconds for the sweep
  std::int64_t sweep_batch = 1;
  std::int64_t checkpoint_every = 0;
  bool inspect = false;  // --inspect: attention heat maps and metrics after training (inspect.h); may be added on resume
  std::string resume;
  bool resumed = false;
  std::optional<ScheduledSignal> test_signal;  // --test-signal-at; not part of the run's identity
  bool print_config = false;  // --print-config: print the resolved configuration and exit; no folder is made

  std::string describe() const;  // one line per setting, for report.md
};

// The settings that define a run, as stored in run.json (everything but out/resume).
nlohmann::json to_json(const Config& config);
// Reads run.json's settings back; BadInput names the file and the first bad entry.
Config config_from_json(const nlohmann::json& json, const std::string& path);

// Rough bytes a training step needs (weights, gradients, optimizer state, activations).
double estimated_training_bytes(const Config& config, std::int64_t seq_len);

// `text` as one shell word a user can paste (single-quoted, ' written as '\''): for the resume
// command that copy_task prints.
std::string shell_quoted(const std::string& text);

// Parses argv. On --help prints usage and returns nullopt with exit_code 0; a bad flag, value,
// output folder or resume request throws BadInput (exit_codes.h) naming the problem. With
// --print-config the output folder is neither checked nor needed.
std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code);

}  // namespace copy_task
