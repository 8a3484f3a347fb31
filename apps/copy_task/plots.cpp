// Plots through gnuplot (see plots.h).
#include "plots.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <sstream>

#include "report.h"

extern char** environ;

using namespace ember;

namespace copy_task {

namespace {

namespace fs = std::filesystem;

struct GnuplotResult {
  bool missing = false;  // no gnuplot on PATH
  bool ok = false;
  std::string error;     // gnuplot's standard error, or why it could not run
};

// Runs `gnuplot SCRIPT` with its standard error in `log`; no shell is involved.
GnuplotResult run_gnuplot(const std::string& script_path, const std::string& log_path) {
  GnuplotResult result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string program = "gnuplot", script = script_path;
  char* argv[] = {program.data(), script.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    result.missing = spawned == ENOENT;
    result.error = fmt::format("cannot start gnuplot: {}", std::strerror(spawned));
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream log(log_path);
  std::stringstream text;
  text << log.rdbuf();
  // The child's exec failing (gnuplot vanished between lookup and start) reads as exit 127.
  result.missing = WIFEXITED(status) && WEXITSTATUS(status) == 127 && text.str().empty();
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  result.error = result.ok ? "" : fmt::format("gnuplot {}: {}",
                                              WIFEXITED(status) ? fmt::format("exited with {}", WEXITSTATUS(status))
                                                                : fmt::format("was killed by signal {}", WTERMSIG(status)),
                                              text.str().empty() ? "(no message)" : text.str());
  return result;
}

// Loss curves: one per (attention, seq_len), read straight from metrics.csv.
std::vector<std::string> run_curves(const Config& config) {
  const std::string metrics = gnuplot_quoted(config.out + "/metrics.csv");
  std::vector<std::string> curves;
  for (auto kind : config.kinds)
    for (auto n : config.seq_lens) {
      const std::string name = nn::attention_kind_name(kind);
      curves.push_back(fmt::format("{} every ::1 using 1:((strcol(2) eq '{}' && $3 == {}) ? $4 : 1/0) "
                                   "with lines lw 2 title '{} N={}'", metrics, name, n, name, n));
    }
  return curves;
}

// With several seeds: per (attention, seq_len) the mean loss over the seeds at each logged step
// (of the seeds that logged it: a diverged run stops early) and a band from their minimum to their
// maximum, one inline data block (step, mean, min, max) each, appended to `script`.
std::vector<std::string> seed_band_curves(const Config& config, const std::vector<MetricsRow>& metrics,
                                          std::string& script) {
  std::vector<std::string> curves;
  int block = 0;
  for (auto kind : config.kinds)
    for (auto n : config.seq_lens) {
      const std::string name = nn::attention_kind_name(kind);
      std::map<std::int64_t, std::vector<double>> losses;  // step -> one loss per seed
      for (const auto& r : metrics)
        if (r.attention == name && r.seq_len == n) losses[r.step].push_back(r.loss);
      script += fmt::format("$loss{} << EOD\n", block);
      for (const auto& [step, values] : losses) {
        double sum = 0;
        for (double v : values) sum += v;
        const auto [low, high] = std::minmax_element(values.begin(), values.end());
        script += fmt::format("{},{:.6g},{:.6g},{:.6g}\n", step, sum / static_cast<double>(values.size()), *low, *high);
      }
      script += "EOD\n";
      const int color = block + 1;
      curves.push_back(fmt::format("$loss{} using 1:3:4 with filledcurves lc {} fs transparent solid 0.25 noborder "
                                   "title '{} N={}: min..max of {} seeds'", block, color, name, n, config.seeds));
      curves.push_back(fmt::format("$loss{} using 1:2 with lines lw 2 lc {} title '{} N={}: mean of {} seeds'", block,
                                   color, name, n, config.seeds));
      ++block;
    }
  return curves;
}

std::string loss_plot(const Config& config, const std::vector<MetricsRow>& metrics, const std::string& loss_png) {
  std::string script = fmt::format("set output {}\nset title 'Copy task: training loss{}'\nset xlabel 'step'\n"
                                   "set ylabel 'cross-entropy (log scale)'\nset logscale y\n", gnuplot_quoted(loss_png),
                                   config.seeds > 1 ? fmt::format(", mean of {} seeds", config.seeds) : "");
  const std::vector<std::string> curves =
      config.seeds > 1 ? seed_band_curves(config, metrics, script) : run_curves(config);
  return script + "plot " + fmt::format("{}", fmt::join(curves, ", \\\n     ")) + "\nunset output\n";
}

// Time vs N, log-log, with the measured crossover; one inline data block per series.
std::string time_plot(const Config& config, const std::vector<TimingRow>& timing, const std::string& time_png) {
  std::string script = fmt::format("set output {}\nset title 'Seconds per step vs sequence length N'\n"
                                   "set xlabel 'N (tokens)'\nset ylabel 'seconds per step (log scale)'\nset logscale x 2\n"
                                   "set logscale y 10\nset format y '10^{{%L}}'\nset key top left\n", gnuplot_quoted(time_png));
  Crossover cross = find_crossover(timing, "model");
  if (cross.n)
    script += fmt::format("set arrow from {0},graph 0 to {0},graph 1 nohead dt 2 lw 2 lc rgb 'gray40'\n"
                          "set label 'crossover N={0} (whole model)' at {0},graph 0.05 offset 0.5,0\n", *cross.n);
  std::vector<std::string> series;
  int block = 0;
  for (const std::string scope : {"model", "attention"})
    for (auto kind : config.kinds) {
      const std::string name = nn::attention_kind_name(kind);
      std::string data = fmt::format("$series{} << EOD\n", block);
      for (const auto& [n, seconds] : measured_seconds(timing, scope, name)) data += fmt::format("{},{}\n", n, seconds);
      script += data + "EOD\n";
      series.push_back(fmt::format("$series{} using 1:2 with linespoints lw 2 pt 7 title '{}, {}'", block++, name,
                                   scope == "model" ? "whole model step" : "attention layer fwd+bwd"));
    }
  return script + "plot " + fmt::format("{}", fmt::join(series, ", \\\n     ")) + "\nunset output\n";
}

// The script for both pictures, writing to the temporary names given.
std::string plot_script(const Config& config, const std::vector<TimingRow>& timing,
                        const std::vector<MetricsRow>& metrics, const std::string& loss_png,
                        const std::string& time_png) {
  std::string script = "set terminal pngcairo size 1000,650 font ',11'\nset datafile separator ','\nset key top right\nset grid\n";
  if (!metrics.empty()) script += loss_plot(config, metrics, loss_png);
  if (!timing.empty()) script += time_plot(config, timing, time_png);
  return script;
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

std::string gnuplot_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

PlotOutcome draw_plots(const Config& config, const std::vector<TimingRow>& timing,
                       const std::vector<MetricsRow>& metrics) {
  const bool have_metrics = !metrics.empty();
  if (!have_metrics && timing.empty()) return {"no training step and no timing sweep in this run: nothing to plot", false};
  const std::string suffix = fmt::format(".tmp.{}", ::getpid());
  const std::string loss_png = config.out + "/loss.png", time_png = config.out + "/time_vs_n.png";
  const std::string script_path = config.out + "/plots.gp", log_path = config.out + "/plots.log";
  PlotOutcome outcome;
  try {
    nn::write_file_atomically(script_path,
                              plot_script(config, timing, metrics, loss_png + suffix, time_png + suffix));
  } catch (const Error& e) {
    return {fmt::format("plots not drawn: {}", e.what()), true};
  }
  const GnuplotResult run = run_gnuplot(script_path, log_path);
  std::vector<std::pair<std::string, std::string>> pictures;
  if (have_metrics) pictures.emplace_back(loss_png + suffix, loss_png);
  if (!timing.empty()) pictures.emplace_back(time_png + suffix, time_png);
  bool drawn = run.ok;
  for (const auto& [temp, final_path] : pictures) {
    std::error_code ec;
    drawn = drawn && fs::file_size(temp, ec) > 0 && !ec;
  }
  if (drawn) {
    for (const auto& [temp, final_path] : pictures) {
      std::error_code ec;
      fs::rename(temp, final_path, ec);
      if (ec) {
        outcome = {fmt::format("plots not drawn: cannot rename {} to {}: {}", temp, final_path, ec.message()), true};
        break;
      }
    }
  }
  for (const auto& [temp, final_path] : pictures) remove_quietly(temp);
  if (run.missing) {
    remove_quietly(log_path);
    return {"gnuplot is not installed (apt-get install gnuplot-nox): loss.png and time_vs_n.png were not drawn", false};
  }
  if (!run.ok) return {fmt::format("plots not drawn: {} (script: {})", run.error, script_path), true};
  if (!drawn) return {fmt::format("plots not drawn: gnuplot wrote an empty picture (disk full?); script: {}", script_path), true};
  remove_quietly(log_path);
  if (!outcome.note && timing.empty()) outcome.note = "no timing sweep in this run, so time_vs_n.png was not drawn";
  if (!outcome.note && !have_metrics) outcome.note = "no training step in this run, so loss.png was not drawn";
  return outcome;
}

}  // namespace copy_task
