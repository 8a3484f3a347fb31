// apps/copy_task: trains softmax and linear attention Transformers on the copy task, evaluates them
// by greedy generation, times both kinds over sequence lengths, and writes metrics.csv, eval.csv,
// timing.csv, loss.png, time_vs_n.png and report.md into --out. See config.h for the protocols.
//
// Exit codes: 0 done, 2 bad input (flags, output folder, checkpoint), 130 interrupted (resume
// with --resume DIR), 1 anything else.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <ember/ember.h>

#include "config.h"
#include "report.h"
#include "sweep.h"
#include "trainer.h"

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_interrupt(int) { stop_requested.store(true); }

// The output folder must exist (or be creatable) and be writable.
void prepare_output(const copy_task::Config& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config.out, ec);
  EMBER_CHECK(!ec && fs::is_directory(config.out), "cannot create output folder '{}': {}", config.out,
              ec ? ec.message() : "not a directory");
  const std::string probe = config.out + "/.write_test";
  {
    std::ofstream out(probe);
    EMBER_CHECK(out.good(), "output folder '{}' is not writable", config.out);
  }
  fs::remove(probe);
  EMBER_CHECK(!config.resumed || fs::exists(config.out + "/metrics.csv"),
              "--resume {}: no metrics.csv there, so there is no run to resume", config.resume);
}

int run(const copy_task::Config& config) {
  using namespace copy_task;
  if (config.threads > 0) ember::set_num_threads(config.threads);
  fmt::print("copy task: {} protocol, {} scale, {}; output in {}\n",
             config.protocol == Protocol::Paper ? "paper" : "seed", config.scale, ember::backend_info(), config.out);
  MetricsLog log(config.out + "/metrics.csv");
  std::vector<RunResult> runs;
  for (auto n : config.seq_lens) {
    for (auto kind : config.kinds) {
      RunResult r = train_run(config, kind, n, log, stop_requested);
      if (r.interrupted) {
        fmt::print("interrupted at step {}; checkpoint written. Continue with: --resume {}\n", r.steps, config.out);
        return 130;
      }
      fmt::print("{} N={}: held-out token accuracy {:.2f}%, exact sequences {:.2f}%\n",
                 ember::nn::attention_kind_name(kind), n, 100 * r.eval.token_acc, 100 * r.eval.exact_acc);
      runs.push_back(r);
    }
  }
  write_eval_csv(config.out + "/eval.csv", runs);
  std::vector<TimingRow> timing;
  if (config.sweep) timing = run_sweep(config, config.out + "/timing.csv");
  auto plot_note = draw_plots(config, timing);
  if (plot_note) fmt::print("note: {}\n", *plot_note);
  auto metrics = log.rows();
  write_report(config, runs, metrics, timing, plot_note, config.out + "/report.md");
  fmt::print("{}\nwrote {}/report.md\n", summary_table(runs, metrics, timing), config.out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  std::optional<copy_task::Config> config;
  try {
    config = copy_task::parse_command_line(argc, argv, exit_code);
    if (!config) return exit_code;
    prepare_output(*config);
  } catch (const ember::Error& e) {
    fmt::print(stderr, "copy_task: {}\n", e.what());
    return 2;
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  try {
    return run(*config);
  } catch (const ember::Error& e) {
    // Corrupt or mismatched checkpoints are bad input, like bad flags.
    const bool input_problem = std::string(e.what()).find("checkpoint") != std::string::npos ||
                               std::string(e.what()).find("load_safetensors") != std::string::npos;
    fmt::print(stderr, "copy_task: {}\n", e.what());
    return input_problem ? 2 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "copy_task: {}\n", e.what());
    return 1;
  }
}
