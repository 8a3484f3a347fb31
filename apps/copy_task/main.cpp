// apps/copy_task: trains softmax and linear attention Transformers on the copy task, evaluates them
// by greedy generation, times both kinds over sequence lengths, and writes run.json, metrics.csv,
// (paper protocol) test_metrics.csv, eval.csv, timing.csv, loss.png, time_vs_n.png and report.md
// into --out. See config.h for the protocols and the resume rules, data.h for the data layout and
// loss mask, exit_codes.h for how it ends, stop_signal.h for Ctrl-C. With --seeds K every
// (attention kind, N) is trained K times, seeds --seed .. --seed + K - 1, in the order N, kind,
// seed, so that an interrupted study resumes at the run where it stopped; report.md and loss.png
// summarise the K runs (seed_stats.h). Under `mpirun -np K` the K processes share every global
// batch and average their gradients (ranks.h); rank 0 alone writes files and prints. --inspect
// adds attention heat maps, per-head metrics and a section of report.md (inspect.h).
#include <optional>

#include <ember/ember.h>

#include "config.h"
#include "data.h"
#include "exit_codes.h"
#include "hyperparameters.h"
#include "inspect.h"
#include "notebook_model.h"
#include "plots.h"
#include "ranks.h"
#include "report.h"
#include "run_folder.h"
#include "stop_signal.h"
#include "sweep.h"
#include "trainer.h"

namespace {

using namespace copy_task;

int interrupted(const Config& config, const std::string& where) {
  if (!is_main_rank()) return kInterrupted;
  fmt::print("interrupted {}. Continue with:\n  copy_task --resume {}\n", where, shell_quoted(config.out));
  return kInterrupted;
}

// --print-config: run.json's settings, then what the data and the loss are for this protocol.
std::string configuration_text(const Config& c) {
  std::string text = fmt::format("settings (as run.json stores them):\n{}\n", to_json(c).dump(2));
  if (c.protocol == Protocol::Paper) {
    const PaperLayout layout = paper_layout(c.seq_lens.front());
    text += fmt::format(
        "data: sequences of {} tokens, vocabulary {} (symbols 1..{}, 0 = separator and padding); n drawn per "
        "sequence from {}..{}; layout [s1..sn, 0, s1..sn, 0 ... 0], no leading separator\n"
        "loss mask: targets n-1 .. 2n-1 (the first separator and the n copied symbols; not the closing "
        "separator, not the padding)\n"
        "loss and accuracy: sum(mask * CE) / sum(mask) over the whole batch (every scored token weighs the same)\n"
        "test: every {} steps, {} fresh batches, teacher-forced, no dropout -> test_metrics.csv\n"
        "evaluation: greedy generation of the n copied symbols after [s1..sn, 0], {} held-out sequences\n",
        layout.seq_len, kVocab, kSymbols, layout.min_n, layout.max_n, kTestEvery, kTestBatches, c.eval_sequences);
  } else if (c.variant == Variant::Notebook) {
    text += notebook_configuration_text(c);
  } else {
    text += fmt::format(
        "data: encoder reads [s1..sN], decoder reads [0, s1..sN] and emits [s1..sN, 0]; N in {{{}}}; vocabulary {}\n"
        "loss mask: every decoder target (the N copied symbols and the closing separator)\n"
        "loss and accuracy: mean over every target of the batch\n"
        "evaluation: greedy generation of N + 1 tokens, {} held-out sequences\n",
        fmt::join(c.seq_lens, ", "), kVocab, c.eval_sequences);
  }
  text += fmt::format("\nhyper-parameters beside the source (README.md has the full-scale tables):\n\n{}",
                      hyperparameter_table(c));
  return text;
}

int run(const Config& config) {
  ember::set_num_threads(config.threads);
  if (is_main_rank())
    fmt::print("copy task: {} protocol, {} scale, {}; {} process{} ({} threads each); output in {}\n",
               choice_name(config.protocol), choice_name(config.scale), ember::backend_info(), ranks(),
               ranks() == 1 ? "" : "es", config.threads, config.out);
  // Rows of a metrics file written before --seeds come from a one-seed run: seed --seed.
  MetricsLog log(config.out + "/metrics.csv", config.seed);
  std::optional<MetricsLog> test_log;  // the authors' periodic teacher-forced test (trainer.h)
  if (config.protocol == Protocol::Paper) test_log.emplace(config.out + "/test_metrics.csv", config.seed);
  std::vector<RunResult> runs;
  for (auto n : config.seq_lens) {
    for (auto kind : config.kinds) {
      for (std::int64_t k = 0; k < config.seeds; ++k) {
        const RunId id{kind, n, config.seed + static_cast<std::uint64_t>(k)};
        RunResult r = train_run(config, id, log, test_log ? &*test_log : nullptr, stop_requested());
        const std::string label = run_label(config, id);
        if (r.interrupted)
          return interrupted(config, r.steps < config.steps
                                         ? fmt::format("at step {} of {} (checkpoint written)", r.steps, label)
                                         : fmt::format("while evaluating {}", label));
        if (is_main_rank())
          fmt::print("{}: held-out token accuracy {:.2f}%, exact sequences {:.2f}%\n", label, 100 * r.eval.token_acc,
                   100 * r.eval.exact_acc);
        runs.push_back(r);
      }
    }
  }
  if (!is_main_rank()) return kSuccess;  // rank 0 evaluates, times and reports
  write_eval_csv(config.out + "/eval.csv", config, runs);
  std::vector<TimingRow> timing;
  if (config.sweep) {
    SweepResult sweep = run_sweep(config, config.out + "/timing.csv", stop_requested());
    if (sweep.interrupted) return interrupted(config, "during the timing sweep (training is done and checkpointed)");
    timing = sweep.rows;
  }
  std::optional<InspectionOutcome> inspection;
  if (config.inspect) inspection = inspect_attention(config, runs);
  const PlotOutcome plots = draw_plots(config, timing, log.rows());
  const PlotOutcome* heat_maps = inspection ? &inspection->plots : nullptr;
  for (const PlotOutcome* outcome : {&plots, heat_maps})
    if (outcome && outcome->note)
      fmt::print(outcome->failed ? stderr : stdout, "{}: {}\n", outcome->failed ? "copy_task" : "note", *outcome->note);
  write_report(config, runs, log.rows(), timing, plots.note, inspection ? inspection->report : "",
               config.out + "/report.md");
  fmt::print("{}\nwrote {}/report.md\n", summary_table(runs, log.rows(), timing), config.out);
  return plots.failed || (inspection && inspection->plots.failed) ? kEnvironmentFailure : kSuccess;
}

// Under mpirun a failing rank ends the whole job with its message, so that no rank waits for it.
int fail(std::string_view message, int exit_code) {
  if (ranks() > 1) abort_job(fmt::format("copy_task: {}", message), exit_code);
  fmt::print(stderr, "copy_task: {}\n", message);
  return exit_code;
}

int run_program(int argc, char** argv) {
  try {
    start_ranks();  // joins the job under mpirun or srun
  } catch (const ember::Error& e) {
    return fail(e.what(), kEnvironmentFailure);
  }
  std::optional<Config> config;
  try {
    int exit_code = kSuccess;
    config = parse_command_line(argc, argv, exit_code);
    if (!config) return exit_code;
    if (config->print_config) {
      fmt::print("{}", configuration_text(*config));
      return kSuccess;
    }
  } catch (const ember::Error& e) {  // BadInput, or a flag the library refused
    return fail(e.what(), kBadInput);
  }
  install_stop_handler();
  std::optional<RunFolder> folder;
  try {
    if (is_main_rank()) folder.emplace(*config);  // rank 0 alone writes files
    return run(*config);
  } catch (const BadInput& e) {
    if (folder) folder->discard_if_new();
    return fail(e.what(), kBadInput);
  } catch (const std::exception& e) {  // EnvironmentFailure, out of memory, anything unexpected
    return fail(e.what(), kEnvironmentFailure);
  }
}

}  // namespace

int main(int argc, char** argv) {
  ember::apply_runtime_defaults(argv);  // may re-execute this program once (ops/runtime_defaults.h)
  const int exit_code = run_program(argc, argv);
  end_ranks();
  return exit_code;
}
