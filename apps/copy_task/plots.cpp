// Plots through gnuplot (see plots.h).
#include "plots.h"

#include <algorithm>
#include <map>

#include "report.h"

using namespace ember;

namespace copy_task {

namespace {

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

}  // namespace

PlotOutcome draw_plots(const Config& config, const std::vector<TimingRow>& timing,
                       const std::vector<MetricsRow>& metrics) {
  const bool have_metrics = !metrics.empty();
  if (!have_metrics && timing.empty()) return {"no training step and no timing sweep in this run: nothing to plot", false};
  const std::string loss_png = config.out + "/loss.png", time_png = config.out + "/time_vs_n.png";
  std::vector<std::string> pictures;
  if (have_metrics) pictures.push_back(loss_png);
  if (!timing.empty()) pictures.push_back(time_png);
  PlotOutcome outcome = render_pictures(
      plot_script(config, timing, metrics, temporary_picture(loss_png), temporary_picture(time_png)), pictures,
      config.out + "/plots.gp", config.out + "/plots.log");
  if (!outcome.note && timing.empty()) outcome.note = "no timing sweep in this run, so time_vs_n.png was not drawn";
  if (!outcome.note && !have_metrics) outcome.note = "no training step in this run, so loss.png was not drawn";
  return outcome;
}

}  // namespace copy_task
