// Command line of the copy task (CLI11), the protocol/scale presets, run.json and resume rules.
#include "ranks.h"
#include "config.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

#include "data.h"  // kMinPaperSeqLen
#include "exit_codes.h"
#include "flags.h"
#include "notebook_model.h"  // check_notebook_config, kNotebookVariantNote
#include "sweep.h"  // available_memory_bytes

namespace copy_task {

namespace {

namespace fs = std::filesystem;

struct Preset {
  std::int64_t layers, heads, d_model, d_ff, batch, steps, lr_drop_step, eval_sequences;
  double lr, dropout;
  OptimizerKind optimizer;
  double weight_decay, clip_per_tensor;
  std::vector<std::int64_t> seq_lens;
  std::int64_t sweep_max;
  double sweep_budget_s;
};

Preset preset(Protocol protocol, Variant variant, Scale scale) {
  using enum OptimizerKind;
  const bool full = scale == Scale::Full;
  if (protocol == Protocol::Paper) {
    if (full) return {4, 8, 256, 1024, 64, 10000, 3000, 1024, 1e-3, 0.1, RAdam, 0.01, 1.0, {128}, 65536, 1800};
    return {3, 4, 96, 192, 32, 2000, 1200, 256, 1e-3, 0.0, RAdam, 0.01, 1.0, {24}, 4096, 60};
  }
  // LinTrans.jl: Transformer_mod(512, 8, 64, 1024) (:484), pdrop 0.1, ADAM(1e-4) (:115), batch 8,
  // 3000 iterations (:33-34). Small keeps its dropout and d_ff = 2 d_model at the seed small size,
  // with lr 1e-3: at 1e-4 a 600-step run ended at loss 13.4 (1.7 per token), near where it began.
  if (variant == Variant::Notebook) {
    if (full) return {4, 8, 512, 1024, 8, 3000, 0, 1024, 1e-4, 0.1, Adam, 0, 0, {8, 16, 32, 64}, 65536, 1800};
    return {2, 4, 64, 128, 8, 600, 0, 128, 1e-3, 0.1, Adam, 0, 0, {8}, 1024, 60};
  }
  if (full) return {4, 8, 512, 2048, 8, 3000, 0, 1024, 1e-3, 0.1, Adam, 0, 0, {8, 16, 32, 64}, 65536, 1800};
  return {2, 4, 64, 128, 16, 600, 0, 128, 1e-3, 0.0, Adam, 0, 0, {8}, 1024, 60};
}

constexpr std::int64_t kMaxSeeds = 1000;
constexpr std::uint64_t kLastSeed = std::numeric_limits<std::uint64_t>::max();

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", std::localtime(&now));
  return buffer;
}

// The flags whose value is part of a run's identity, with their run.json key.
struct Setting {
  const char* flag;
  const char* key;
};
constexpr Setting kSettings[] = {
    {"--protocol", "protocol"},     {"--variant", "variant"},       {"--scale", "scale"},
    {"--layers", "layers"},         {"--heads", "heads"},
    {"--d-model", "d_model"},       {"--d-ff", "d_ff"},
    {"--dropout", "dropout"},       {"--batch", "batch"},
    {"--steps", "steps"},           {"--lr", "lr"},
    {"--lr-drop-step", "lr_drop_step"}, {"--lr-drop-factor", "lr_drop_factor"},
    {"--optimizer", "optimizer"},   {"--weight-decay", "weight_decay"},
    {"--clip-per-tensor", "clip_per_tensor"}, {"--seq-lens", "seq_lens"},
    {"--attention", "attention"},   {"--device", "device"},
    {"--precision", "precision"},   {"--seed", "seed"},
    {"--feature-map", "feature_map"},
    {"--seeds", "seeds"},
    {"--eval-sequences", "eval_sequences"}, {"--log-every", "log_every"},
    {"--no-sweep", "sweep"},        {"--sweep-max", "sweep_max"},
    {"--sweep-budget", "sweep_budget_s"}, {"--sweep-batch", "sweep_batch"},
};

// --attention and run.json's "attention": softmax, linear, or both (softmax first).
std::string attention_text(const std::vector<ember::nn::AttentionKind>& kinds) {
  return kinds.size() == 2 ? "both" : ember::nn::attention_kind_name(kinds.front());
}

std::vector<ember::nn::AttentionKind> attention_kinds(const std::string& text) {
  if (text == "both") return {ember::nn::AttentionKind::Softmax, ember::nn::AttentionKind::Linear};
  return {ember::nn::parse_attention_kind(text)};
}

// run.json's `key`, one of E's names; anything else throws, naming the key and the value.
template <Choice E>
E choice_from_json(const nlohmann::json& j, const char* key) {
  const std::string text = j.at(key).get<std::string>();
  if (auto value = parse_choice<E>(text)) return *value;
  throw std::runtime_error(fmt::format("{} is '{}' (expected one of {})", key, text, choice_names<E>()));
}

// `--resume X`: X is a run folder, or a file inside one (a checkpoint).
fs::path run_folder_of(const std::string& resume) {
  fs::path path(resume);
  if (fs::is_regular_file(path)) path = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return path;
}

Config resumed_config(const std::string& resume, const Config& given, const CLI::App& app) {
  const fs::path folder = run_folder_of(resume);
  const fs::path run_json = folder / "run.json";
  if (!fs::is_regular_file(run_json))
    bad_input("--resume {}: there is no run.json in '{}', so it is not a copy_task run folder", resume, folder.string());
  nlohmann::json stored_json;
  try {
    std::ifstream in(run_json);
    stored_json = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    bad_input("--resume {}: {} is not valid JSON: {}", resume, run_json.string(), e.what());
  }
  Config stored = config_from_json(stored_json, run_json.string());
  stored_json = to_json(stored);  // with the defaults of keys that older run.json files lack (seeds)
  const nlohmann::json wanted = to_json(given);
  for (const Setting& s : kSettings) {
    if (app.count(s.flag) == 0) continue;
    if (wanted.at(s.key) == stored_json.at(s.key)) continue;
    if (std::string(s.key) == "sweep")
      bad_input("--resume {}: this run {} the timing sweep; resume without --no-sweep", resume,
                stored.sweep ? "includes" : "skips");
    bad_input("--resume {}: {} is {} in this run (run.json) but {} was given; resume without it, or start a "
                "new run in another --out", resume, s.flag, stored_json.at(s.key).dump(), wanted.at(s.key).dump());
  }
  if (app.count("--out") && fs::weakly_canonical(given.out) != fs::weakly_canonical(folder))
    bad_input("--resume {} and --out {} name different folders", resume, given.out);
  if (app.count("--threads") && given.threads != stored.threads) {
    fmt::print("note: --threads {} differs from the {} this run started with: the result stays correct, but is "
               "no longer guaranteed to be bit-identical to an uninterrupted run\n", given.threads, stored.threads);
    stored.threads = given.threads;
  }
  if (app.count("--checkpoint-every")) stored.checkpoint_every = given.checkpoint_every;
  if (app.count("--inspect")) stored.inspect = given.inspect;
  if (app.count("--test-signal-at")) stored.test_signal = given.test_signal;
  stored.out = folder.string();
  stored.resume = resume;
  stored.resumed = true;
  return stored;
}

// A new run may only write into a folder that does not exist yet or is empty.
void check_new_output(const Config& c) {
  std::error_code ec;
  if (!fs::exists(c.out, ec)) return;
  if (!fs::is_directory(c.out, ec)) bad_input("--out {}: exists and is not a folder", c.out);
  if (!fs::is_empty(c.out, ec))
    bad_input("--out {}: the folder is not empty. To continue the run there: copy_task --resume {}; to start a "
              "new run, name another --out (or leave it out for results/copy_task/<timestamp>)", c.out,
              shell_quoted(c.out));
}

void check_memory(const Config& c) {
  const long long available = available_memory_bytes();
  if (available <= 0) return;
  for (std::int64_t n : c.seq_lens) {
    const double need = estimated_training_bytes(c, n);
    if (need > 0.8 * static_cast<double>(available))
      bad_input("this configuration needs about {:.1f} GiB per training step at N={} (layers {}, d_model {}, d_ff {}, "
                "batch {}), but only {:.1f} GiB of memory are available; reduce the sizes",
                need / (1 << 30), n, c.layers, c.d_model, c.d_ff, c.batch, static_cast<double>(available) / (1 << 30));
  }
}

}  // namespace

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Config::describe() const {
  std::string kinds_text;
  for (auto k : kinds) kinds_text += (kinds_text.empty() ? "" : ", ") + ember::nn::attention_kind_name(k);
  const char* variant_text = variant == Variant::Notebook ? kNotebookVariantNote : "text (the article)";
  const std::string variant_row = protocol == Protocol::Seed ? fmt::format("| variant | {} |\n", variant_text) : "";
  return fmt::format(
      "| protocol | {} |\n{}| scale | {} |\n| layers | {} |\n| heads | {} |\n| d_model | {} |\n| d_ff | {} |\n"
      "| dropout | {} |\n| batch | {} |\n| steps | {} |\n| optimizer | {} |\n| weight decay (decoupled) | {} |\n"
      "| grad-norm clip per tensor | {} |\n| lr | {} |\n| lr drop | x{} at step {} |\n"
      "| sequence lengths | {} |\n| attention | {} |\n| device | {} |\n| precision | {} |\n| threads | {} |\n| seed | {} |\n"
      "| seeds | {} |\n",
      fmt::format("{} ({})", choice_name(protocol), protocol == Protocol::Paper ? "decoder-only" : "encoder-decoder"),
      variant_row, choice_name(scale), layers, heads, d_model, d_ff, dropout, batch, steps, choice_name(optimizer),
      weight_decay,
      clip_per_tensor > 0 ? fmt::format("{}", clip_per_tensor) : std::string("none"), lr,
      lr_drop_factor, lr_drop_step, fmt::join(seq_lens, ", "), kinds_text, device_word(device), choice_name(precision),
      threads > 0 ? threads : ember::get_num_threads(), seed,
      seeds == 1 ? "1" : fmt::format("{} (seed {} to {})", seeds, seed, seed + std::uint64_t(seeds - 1))) +
         (feature_map == FeatureMapChoice::Elu ? "" : fmt::format("| feature map | {} |\n", choice_name(feature_map)));
}

nlohmann::json to_json(const Config& c) {
  return {{"protocol", choice_name(c.protocol)},
          {"variant", choice_name(c.variant)},
          {"scale", choice_name(c.scale)},
          {"layers", c.layers},
          {"heads", c.heads},
          {"d_model", c.d_model},
          {"d_ff", c.d_ff},
          {"dropout", c.dropout},
          {"batch", c.batch},
          {"steps", c.steps},
          {"lr", c.lr},
          {"lr_drop_step", c.lr_drop_step},
          {"lr_drop_factor", c.lr_drop_factor},
          {"optimizer", choice_name(c.optimizer)},
          {"weight_decay", c.weight_decay},
          {"clip_per_tensor", c.clip_per_tensor},
          {"seq_lens", c.seq_lens},
          {"attention", attention_text(c.kinds)},
          {"device", device_word(c.device)},
          {"precision", choice_name(c.precision)},
          {"feature_map", choice_name(c.feature_map)},
          {"threads", c.threads},
          {"seed", c.seed},
          {"seeds", c.seeds},
          {"eval_sequences", c.eval_sequences},
          {"log_every", c.log_every},
          {"sweep", c.sweep},
          {"sweep_max", c.sweep_max},
          {"sweep_budget_s", c.sweep_budget_s},
          {"sweep_batch", c.sweep_batch},
          {"checkpoint_every", c.checkpoint_every},
          {"inspect", c.inspect}};
}

Config config_from_json(const nlohmann::json& j, const std::string& path) {
  Config c;
  try {
    c.protocol = choice_from_json<Protocol>(j, "protocol");
    // run.json files written before --variant existed ran the text variant.
    c.variant = j.contains("variant") ? choice_from_json<Variant>(j, "variant") : Variant::Text;
    c.scale = choice_from_json<Scale>(j, "scale");
    j.at("layers").get_to(c.layers);
    j.at("heads").get_to(c.heads);
    j.at("d_model").get_to(c.d_model);
    j.at("d_ff").get_to(c.d_ff);
    j.at("dropout").get_to(c.dropout);
    j.at("batch").get_to(c.batch);
    j.at("steps").get_to(c.steps);
    j.at("lr").get_to(c.lr);
    j.at("lr_drop_step").get_to(c.lr_drop_step);
    j.at("lr_drop_factor").get_to(c.lr_drop_factor);
    c.optimizer = choice_from_json<OptimizerKind>(j, "optimizer");
    // run.json files written before these settings existed ran without either.
    c.weight_decay = j.value("weight_decay", 0.0);
    c.clip_per_tensor = j.value("clip_per_tensor", 0.0);
    j.at("seq_lens").get_to(c.seq_lens);
    c.kinds = attention_kinds(j.at("attention").get<std::string>());
    const DeviceChoice device = choice_from_json<DeviceChoice>(j, "device");
    if (device == DeviceChoice::Auto) throw std::runtime_error("device is 'auto' (run.json holds the device used)");
    c.device = resolve_device(device);
    c.precision = choice_from_json<Precision>(j, "precision");
    // run.json files written before --feature-map ran elu(x)+1.
    c.feature_map = j.contains("feature_map") ? choice_from_json<FeatureMapChoice>(j, "feature_map")
                                              : FeatureMapChoice::Elu;
    j.at("threads").get_to(c.threads);
    j.at("seed").get_to(c.seed);
    c.seeds = j.value("seeds", std::int64_t{1});  // run.json files written before --seeds: one seed
    j.at("eval_sequences").get_to(c.eval_sequences);
    j.at("log_every").get_to(c.log_every);
    j.at("sweep").get_to(c.sweep);
    j.at("sweep_max").get_to(c.sweep_max);
    j.at("sweep_budget_s").get_to(c.sweep_budget_s);
    j.at("sweep_batch").get_to(c.sweep_batch);
    j.at("checkpoint_every").get_to(c.checkpoint_every);
    c.inspect = j.value("inspect", false);  // run.json files written before --inspect: off
  } catch (const std::exception& e) {
    bad_input("{} is damaged or from another version of copy_task: {}", path, e.what());
  }
  const bool sane = c.layers > 0 && c.heads > 0 && c.d_model > 0 && c.d_model % c.heads == 0 && c.d_ff > 0 &&
                    c.batch > 0 && c.steps >= 0 && c.lr > 0 && c.log_every > 0 && !c.seq_lens.empty() &&
                    c.eval_sequences > 0 && c.sweep_batch > 0 && c.sweep_max > 0 && c.seeds >= 1 &&
                    c.seeds <= kMaxSeeds && c.seed <= kLastSeed - std::uint64_t(c.seeds - 1);
  if (!sane) bad_input("{} holds an impossible configuration", path);
  return c;
}

double estimated_training_bytes(const Config& c, std::int64_t seq_len) {
  const double d = static_cast<double>(c.d_model), ff = static_cast<double>(c.d_ff);
  const double layers = static_cast<double>(c.layers) * (c.protocol == Protocol::Seed ? 2.5 : 1.0);
  // Paper: seq_len tokens per sequence; seed: about the encoder's n plus the decoder's n + 1.
  const double n = static_cast<double>(seq_len);
  const double per_sequence = c.protocol == Protocol::Paper ? n : 2.0 * n + 2.0;
  const double tokens = static_cast<double>(c.batch) * per_sequence;
  const double parameters = layers * (4 * d * d + 2 * d * ff) + 2 * 11 * d;
  // Weights, gradients and two optimizer moments; per token and layer, the activations that
  // backward keeps (projections, attention output, feed-forward, norms, dropout masks).
  const double floats = 4 * parameters + tokens * layers * (14 * d + 3 * ff);
  return 4 * floats;
}

std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code) {
  using flags::whole_number;
  CLI::App app{"Ember copy task: replicates and extends 'Replication of Transformers are RNNs' "
               "(Do & Bergner 2022). Trains softmax and linear attention Transformers to copy "
               "sequences, evaluates them by greedy generation, times both up to long sequences, "
               "and writes CSVs, plots and report.md.\n\n"
               "Exit codes: 0 success; 1 environment failure (I/O, disk full, out of memory); 2 bad input (flags, "
               "output folder, a corrupt or mismatched checkpoint); 130 interrupted (Ctrl-C or SIGTERM: a checkpoint "
               "is written and the resume command printed; a second Ctrl-C stops at once).\n"
               "Resume: --resume DIR alone continues the run in DIR with the configuration stored in DIR/run.json; "
               "flags given with it must agree, except --threads, --checkpoint-every, --inspect and --test-signal-at."};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last wins
  Config c;
  std::string attention = "both", seq_lens, test_signal;
  DeviceChoice device = DeviceChoice::Cpu;
  flags::add_choice(app, "--protocol", c.protocol,
                    "paper: decoder-only CausalLM (Katharopoulos et al.); seed: encoder-decoder (Do & Bergner)");
  flags::add_choice(app, "--variant", c.variant,
                    "seed protocol: text (default; what the study's article says) or notebook (what its notebook "
                    "LinTrans.jl ran, bugs included: a non-causal decoder that sees its targets, 2 of 4 encoder "
                    "layers run)");
  flags::add_choice(app, "--scale", c.scale, "small (default; minutes on 2 CPU cores) or full (the study's sizes)");
  app.add_option("--layers", c.layers, "decoder layers (and encoder layers for seed)")->check(whole_number(1, 1000));
  app.add_option("--heads", c.heads, "attention heads")->check(whole_number(1, 1024));
  app.add_option("--d-model", c.d_model, "model width (a multiple of --heads)")->check(whole_number(1, 1 << 16));
  app.add_option("--d-ff", c.d_ff, "feed-forward width")->check(whole_number(1, 1 << 18));
  app.add_option("--dropout", c.dropout, "dropout probability")->check(flags::real_number(0.0, 0.99));
  app.add_option("--batch", c.batch, "sequences per step")->check(whole_number(1, 1 << 20));
  app.add_option("--steps", c.steps, "training steps per run")->check(whole_number(0, 1000000000));
  app.add_option("--lr", c.lr, "learning rate")->check(flags::real_number(0.0, 1.0, /*lo_open=*/true));
  app.add_option("--lr-drop-step", c.lr_drop_step, "multiply the lr by --lr-drop-factor at this step (0: never)")
      ->check(whole_number(0, 1000000000));
  app.add_option("--lr-drop-factor", c.lr_drop_factor, "factor of the lr drop")
      ->check(flags::real_number(0.0, 1.0, /*lo_open=*/true));
  flags::add_choice(app, "--optimizer", c.optimizer, "radam or adam (default: the protocol's)");
  app.add_option("--weight-decay", c.weight_decay, "decoupled weight decay, param *= 1 - lr wd (default: the protocol's)")
      ->check(flags::real_number(0.0, 1.0));
  app.add_option("--clip-per-tensor", c.clip_per_tensor,
                 "clip each parameter's grad norm to this before the step, as the authors' RAdam (0: no clipping; "
                 "default: the protocol's)")
      ->check(flags::real_number(0.0, 1e6));
  app.add_option("--seq-lens,--seq-len", seq_lens,
                 "paper: sequence length L (n copied symbols, n drawn from [L/4, (L-1)/2 - 1]); "
                 "seed: copied length of each run (comma-separated)")
      ->check(flags::number_list(1, 4096));
  app.add_option("--attention", attention, "softmax, linear or both")->check(CLI::IsMember({"softmax", "linear", "both"}));
  flags::add_choice(app, "--device", device, "cpu, cuda or auto (cuda when a device is available)");
  flags::add_choice(app, "--feature-map", c.feature_map,
                    "linear attention's feature map: elu (elu(x)+1, the paper's), relu, favor (FAVOR+ positive "
                    "orthogonal random features, Performer) or learned (a linear layer and a softmax, Hedgehog-style)");
  flags::add_choice(app, "--precision", c.precision,
                    "fp32, or bf16: matmuls and attention read bfloat16 under autocast, weights stay float32 "
                    "(fast on CUDA; emulated, hence slower, on the CPU)");
  app.add_option("--threads", c.threads, fmt::format("CPU threads (0: all cores; at most {})", ember::max_num_threads()))
      ->check(whole_number(0, ember::max_num_threads()));
  app.add_option("--seed", c.seed, "random seed (model init, data, dropout)")->check(flags::unsigned_number());
  app.add_option("--seeds", c.seeds,
                 "independent runs per attention kind and N, with seeds --seed, --seed + 1, ...; report.md gives "
                 "their mean and 95 % confidence interval")
      ->check(whole_number(1, kMaxSeeds));
  app.add_option("--out", c.out, "output folder for a new run: must not exist or be empty (default results/copy_task/<timestamp>)")
      ->check(flags::plain_path());
  app.add_option("--eval-sequences", c.eval_sequences, "held-out sequences for evaluation")->check(whole_number(1, 10000000));
  app.add_option("--log-every", c.log_every, "steps between metrics.csv rows (0: about 50 rows)")
      ->check(whole_number(0, 1000000000));
  bool no_sweep = false;
  app.add_flag("--no-sweep", no_sweep, "skip the timing sweep");
  app.add_option("--sweep-max", c.sweep_max, "largest N of the timing sweep (8 to 16777216)")->check(whole_number(8, 1 << 24));
  app.add_option("--sweep-budget", c.sweep_budget_s, "seconds the timing sweep may take")
      ->check(flags::real_number(0.0, 7 * 86400.0, /*lo_open=*/true));
  app.add_option("--sweep-batch", c.sweep_batch, "batch size of the timing sweep")->check(whole_number(1, 4096));
  app.add_option("--checkpoint-every", c.checkpoint_every, "steps between checkpoints (0: only on Ctrl-C and at the end)")
      ->check(whole_number(0, 1000000000));
  app.add_option("--resume", c.resume, "continue the run in this folder (or the folder of this checkpoint file)")
      ->check(flags::plain_path());
  app.add_flag("--inspect", c.inspect,
               "after training, on one held-out batch: attention heat maps per layer (attention_<kind>_layer<L>.png), "
               "per-head entropy, effective rank and copy-diagonal mass (attention_metrics.csv), and a comparison in "
               "report.md (paper protocol)");
  app.add_flag("--print-config", c.print_config,
               "print the resolved configuration (every setting, the data layout, the loss mask) and exit");
  app.add_option("--test-signal-at", test_signal,
                 "for tests: right after training step STEP of the first run that reaches it, the process sends "
                 "itself SIGNAL (INT, TERM or KILL), as if it arrived then; e.g. 40:KILL")
      ->check(flags::step_and_signal());
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    exit_code = kSuccess;
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    bad_input("{} (run with --help for the list of flags)", e.what());
  }
  if (!seq_lens.empty()) c.seq_lens = flags::parse_list(seq_lens);
  // A resumed run takes its protocol and variant from run.json, which resumed_config compares.
  const bool fresh = c.resume.empty();
  if (fresh && c.protocol == Protocol::Paper && c.variant == Variant::Notebook)
    bad_input("--variant notebook is for --protocol seed (the seed study's notebook); the paper protocol already "
              "follows the authors' code");
  Preset p = preset(c.protocol, c.variant, c.scale);
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
  if (app.count("--optimizer") == 0) c.optimizer = p.optimizer;
  if (app.count("--weight-decay") == 0) c.weight_decay = p.weight_decay;
  if (app.count("--clip-per-tensor") == 0) c.clip_per_tensor = p.clip_per_tensor;
  if (c.seq_lens.empty()) c.seq_lens = p.seq_lens;
  if (c.protocol == Protocol::Paper && c.seq_lens.size() != 1)
    bad_input("--seq-len for the paper protocol is one sequence length, got {} values", c.seq_lens.size());
  if (c.protocol == Protocol::Paper && c.seq_lens.front() < kMinPaperSeqLen)
    bad_input("--seq-len {} for the paper protocol: a sequence needs at least {} tokens ([s, 0, s])",
              c.seq_lens.front(), kMinPaperSeqLen);
  if (c.seed > kLastSeed - std::uint64_t(c.seeds - 1))
    bad_input("--seed {} with --seeds {}: the last run's seed would pass 2^64 - 1; choose a smaller --seed", c.seed,
              c.seeds);
  if (c.d_model % c.heads != 0) bad_input("--d-model {} is not a multiple of --heads {}", c.d_model, c.heads);
  c.sweep = !no_sweep;
  c.kinds = attention_kinds(attention);
  if (fresh && c.variant == Variant::Notebook) check_notebook_config(c);
  if (fresh && c.variant == Variant::Notebook && c.feature_map != FeatureMapChoice::Elu)
    bad_input("--feature-map {} is not for --variant notebook, whose model applies the notebook's elu(x)+1 itself",
              choice_name(c.feature_map));
  if (device == DeviceChoice::Cuda && !ember::cuda_is_available())
    bad_input("--device cuda, but no CUDA device is available ({})", ember::backend_info());
  c.device = resolve_device(device);
  if (!test_signal.empty()) c.test_signal = flags::parse_step_and_signal(test_signal);
  if (c.log_every == 0) c.log_every = std::max<std::int64_t>(1, c.steps / 50);
  if (c.threads == 0) c.threads = ember::get_num_threads();

  if (!c.resume.empty()) {
    const bool print_config = c.print_config;
    c = resumed_config(c.resume, c, app);
    c.print_config = print_config;
  } else {
    if (c.out.empty()) c.out = "results/copy_task/" + timestamp();
    if (!c.print_config && is_main_rank()) check_new_output(c);  // rank 0 alone writes there
  }
  if (c.inspect && c.protocol != Protocol::Paper)
    bad_input("--inspect looks inside the paper protocol's decoder-only model; --protocol {} is not supported",
              choice_name(c.protocol));
  if (!c.print_config) check_memory(c);
  if (c.batch % ranks() != 0)
    bad_input("--batch {} does not split evenly across {} processes: give a multiple of {}", c.batch, ranks(), ranks());
  return c;
}

}  // namespace copy_task
