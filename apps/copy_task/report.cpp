// eval.csv, plots, report.md and the summary table (see report.h).
#include "report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "hyperparameters.h"
#include "seed_stats.h"
#include "seed_study.h"
#include "verdicts.h"

using namespace ember;

namespace copy_task {

namespace {

std::string fmt_seconds(const std::map<std::int64_t, double>& m, std::int64_t n) {
  auto it = m.find(n);
  return it == m.end() ? "-" : fmt::format("{:.4g}", it->second);
}

// Last metrics row of a run: its final loss and teacher-forced accuracy.
std::optional<MetricsRow> last_row(const std::vector<MetricsRow>& metrics, const RunResult& run) {
  std::optional<MetricsRow> last;
  for (const auto& r : metrics)
    if (r.attention == nn::attention_kind_name(run.kind) && r.seq_len == run.seq_len && r.seed == run.seed) last = r;
  return last;
}

// "0.1234 ± 0.0056" (mean ± 95 % half-width), "0.1234" for a single value, "-" for none.
std::string fmt_summary(const SeedSummary& s) {
  if (s.count == 0) return "-";
  if (!s.half_width) return fmt::format("{:.4f}", s.mean);
  return fmt::format("{:.4f} ± {:.4f}", s.mean, *s.half_width);
}

// One line per (kind, N): the four end results over the seeds whose training did not diverge
// (a diverged run has no final loss and was never evaluated), and how many diverged.
std::string seed_line(const SeedGroup& group, const std::vector<MetricsRow>& metrics) {
  std::vector<double> loss, train_acc, token_acc, exact_acc;
  std::size_t diverged = 0;
  for (const auto& r : group.runs) {
    if (r.diverged) {
      ++diverged;
      continue;
    }
    if (auto last = last_row(metrics, r)) loss.push_back(last->loss), train_acc.push_back(last->token_acc);
    token_acc.push_back(r.eval.token_acc);
    exact_acc.push_back(r.eval.exact_acc);
  }
  const std::size_t runs = group.runs.size(), finished = runs - diverged;
  std::string over;
  if (runs == 1) over = " (one seed, no interval)";
  else if (diverged > 0 && finished == 1) over = " (the one run that did not diverge, no interval)";
  else if (diverged > 0 && finished > 1) over = fmt::format(" (over the {} runs that did not diverge)", finished);
  return fmt::format("- {} N={}{}: final training loss {}; final teacher-forced token accuracy {}; held-out greedy "
                     "token accuracy {}; held-out exact-sequence accuracy {}; diverged: {} of {}.\n",
                     nn::attention_kind_name(group.kind), group.seq_len, over, fmt_summary(summarize(loss)),
                     fmt_summary(summarize(train_acc)), fmt_summary(summarize(token_acc)),
                     fmt_summary(summarize(exact_acc)), diverged, runs);
}

std::string seeds_section(const Config& config, const std::vector<RunResult>& runs,
                          const std::vector<MetricsRow>& metrics) {
  std::string md = "\n### Across seeds\n\n";
  if (config.seeds == 1) {
    md += "One seed per attention kind and N (--seeds 1): the single values, no interval.\n\n";
  } else {
    md += fmt::format(
        "{} seeds per attention kind and N (seeds {} to {}). Each value is the mean over the seeds ± the half-width "
        "of its 95 % confidence interval, t s / sqrt(K) with t the 0.975 quantile of Student's t with K - 1 degrees "
        "of freedom ({:.3f} for K = {}). A diverged run has no final results and is left out. loss.png draws the mean "
        "training loss of each attention kind and N over its seeds, with a band from their minimum to their "
        "maximum.\n\n",
        config.seeds, config.seed, config.seed + std::uint64_t(config.seeds - 1),
        t_quantile_975(std::size_t(config.seeds - 1)), config.seeds);
  }
  for (const auto& group : seed_groups(runs)) md += seed_line(group, metrics);
  return md;
}


// The seed fitted its 4 points N = 8..64; Ember's fit takes the points it has up to the same N,
// at least this many per kind.
constexpr std::size_t kSeedMethodMinimumPoints = 3;

std::string fmt_ratio(const std::map<std::int64_t, double>& m, std::int64_t n, double scale, double seed) {
  auto it = m.find(n);
  return it == m.end() ? "-" : fmt::format("{:.4g}", it->second * scale / seed);
}

// Table 1 again, in Ember's units and in the seed's (total seconds of kSeedSteps steps at batch
// kSeedBatch), beside the seed's Quadro P4000 numbers.
std::string seed_units_table(const std::vector<TimingRow>& timing, std::int64_t batch) {
  const double scale = double(kSeedSteps) * double(kSeedBatch) / double(batch);
  const std::string how =
      batch == kSeedBatch
          ? fmt::format("measured: s/step at batch {} x {} steps", batch, kSeedSteps)
          : fmt::format("projected: s/step at batch {} x {}/{} x {} steps", batch, kSeedBatch, batch, kSeedSteps);
  std::string md = fmt::format(
      "### Table 1 in the seed's units\n\n"
      "The seed (Do & Bergner 2022) reports the total seconds of {} training steps at batch {} on an Nvidia Quadro "
      "P4000. Ember's whole-model seconds per step were measured at batch {}; its columns in the seed's units are "
      "{}{}.\n\n",
      kSeedSteps, kSeedBatch, batch, how, batch == kSeedBatch ? "" : " (assuming time proportional to batch size)");
  md += "| N | Ember softmax s/step | Ember linear s/step | Ember softmax s, seed units | Ember linear s, seed units | "
        "seed softmax s | seed linear s | softmax Ember/seed | linear Ember/seed | how |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  auto sm = measured_seconds(timing, "model", "softmax"), lm = measured_seconds(timing, "model", "linear");
  auto in_seed_units = [&](const std::map<std::int64_t, double>& m, std::int64_t n) {
    auto it = m.find(n);
    return it == m.end() ? std::string("-") : fmt::format("{:.4g}", it->second * scale);
  };
  for (const auto& row : kSeedTable1)
    md += fmt::format("| {} | {} | {} | {} | {} | {:g} | {:g} | {} | {} | {} |\n", row.n, fmt_seconds(sm, row.n),
                      fmt_seconds(lm, row.n), in_seed_units(sm, row.n), in_seed_units(lm, row.n), row.softmax_s,
                      row.linear_s, fmt_ratio(sm, row.n, scale, row.softmax_s),
                      fmt_ratio(lm, row.n, scale, row.linear_s), batch == kSeedBatch ? "measured" : "projected");
  return md + "\n";
}

// The seed's extrapolation (seed_study.h) applied to one scope's measured points with N <= 64.
std::string seed_method_line(const std::vector<TimingRow>& timing, const std::string& scope) {
  const std::int64_t largest = kSeedTable1.back().n;
  std::vector<double> n, soft, lin;
  auto sm = measured_seconds(timing, scope, "softmax"), lm = measured_seconds(timing, scope, "linear");
  for (const auto& [size, s] : sm)
    if (size <= largest && lm.count(size)) n.push_back(double(size)), soft.push_back(s), lin.push_back(lm[size]);
  const std::string label = scope == "model" ? "whole model" : "attention alone";
  if (n.size() < kSeedMethodMinimumPoints)
    return fmt::format("- Crossover by the seed's method ({}): none (needs {} N <= {} measured for both kinds, "
                       "has {}).\n", label, kSeedMethodMinimumPoints, largest, n.size());
  auto fit = seed_method_crossover(n, soft, lin);
  if (!fit)
    return fmt::format("- Crossover by the seed's method ({}): none (the points cannot be fitted).\n", label);
  return fmt::format("- Crossover by the seed's method ({}): {} (s/step: softmax = {:.4g} + {:.4g} N^2, linear = "
                     "{:.4g} + {:.4g} N, fitted on {} N <= {}); measured: {}.\n",
                     label, fit->n ? fmt::format("N = {:.1f}", *fit->n) : std::string("none (the fits do not cross)"),
                     fit->softmax.intercept, fit->softmax.slope, fit->linear.intercept, fit->linear.slope, n.size(),
                     largest, find_crossover(timing, scope).note);
}

std::string seed_method_section(const std::vector<TimingRow>& timing) {
  std::string md = "### Crossover: measured, and extrapolated by the seed's method\n\n"
                   "The seed fitted softmax time = a + b N^2 and linear time = c + d N by least squares on N = 8..64 "
                   "and took the larger root of a + b N^2 = c + d N.\n\n";
  if (auto seed = seed_crossover_from_seed_table(); seed && seed->n)
    md += fmt::format("- The seed's method on the seed's P4000 numbers: N = {:.1f} (the seed reports {:g}).\n",
                      *seed->n, kSeedCrossover);
  for (const std::string scope : {"model", "attention"}) md += seed_method_line(timing, scope);
  return md;
}

}  // namespace

std::map<std::int64_t, double> measured_seconds(const std::vector<TimingRow>& rows, const std::string& scope,
                                                const std::string& attention) {
  std::map<std::int64_t, double> out;
  for (const auto& r : rows)
    if (r.scope == scope && r.attention == attention && r.seconds > 0) out[r.n] = r.seconds;
  return out;
}

namespace {
// How the held-out copies were generated: the recurrent form where the model has one.
std::string generation_method(const Config& config, nn::AttentionKind kind) {
  if (config.variant == Variant::Notebook) return "greedy, decoder re-run on the prefix";
  return kind == nn::AttentionKind::Linear ? "greedy, RNN state" : "greedy, KV cache";
}

// What a held-out token accuracy counts, per protocol.
std::string generation_sentence(const Config& config) {
  if (config.protocol == Protocol::Paper)
    return "Held-out accuracy is measured by greedy generation after the prompt [s1..sn, 0] (RNN state for linear "
           "attention, KV cache for softmax), not by teacher forcing. Token accuracy counts the n copied symbols "
           "(the closing separator is not trained, as in the authors' loss mask); a sequence is exact when all of "
           "them are right.";
  if (config.variant == Variant::Notebook)
    return "Held-out accuracy is measured by greedy generation from the start token, the whole (non-causal) decoder "
           "re-run on the prefix at each step, not by teacher forcing: there is no token t + 1 to leak. Token "
           "accuracy counts the N - 1 generated tokens (the copy and the end token); a sequence is exact when all of "
           "them are right.";
  return "Held-out accuracy is measured by greedy generation from the start token (RNN state for linear attention, "
         "KV cache for softmax), not by teacher forcing. Token accuracy counts the copied symbols and the closing "
         "separator; a sequence is exact when all of them are right.";
}
}  // namespace

void write_eval_csv(const std::string& path, const Config& config, const std::vector<RunResult>& runs) {
  // The seed comes before the method, whose text holds a comma.
  std::string text = "attention,seq_len,sequences,token_acc,exact_seq_acc,seed,method\n";
  for (const auto& r : runs)
    text += fmt::format("{},{},{},{:.6f},{:.6f},{},{}\n", nn::attention_kind_name(r.kind), r.seq_len,
                        r.eval.sequences, r.eval.token_acc, r.eval.exact_acc, r.seed,
                        generation_method(config, r.kind));
  nn::write_file_atomically(path, text);
}

std::vector<SeedGroup> seed_groups(const std::vector<RunResult>& runs) {
  std::vector<SeedGroup> groups;
  for (const auto& r : runs) {
    auto same = [&](const SeedGroup& g) { return g.kind == r.kind && g.seq_len == r.seq_len; };
    auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end()) it = groups.insert(groups.end(), SeedGroup{r.kind, r.seq_len, {}});
    it->runs.push_back(r);
  }
  return groups;
}

Crossover find_crossover(const std::vector<TimingRow>& rows, const std::string& scope) {
  auto soft = measured_seconds(rows, scope, "softmax"), lin = measured_seconds(rows, scope, "linear");
  std::optional<std::int64_t> from;
  std::int64_t largest_both = 0;
  for (const auto& [n, linear_s] : lin) {
    auto it = soft.find(n);
    if (it == soft.end()) continue;
    largest_both = n;
    if (linear_s < it->second) {
      if (!from) from = n;
    } else {
      from.reset();
    }
  }
  Crossover c{from, largest_both, ""};
  if (soft.empty() || lin.empty()) {
    c.note = "not measured (the sweep needs both kinds)";
  } else if (!from) {
    c.note = fmt::format("linear was not faster up to N={}, the largest N measured for both", largest_both);
  } else {
    c.note = fmt::format("linear is faster from N={} on (measured to N={} for both kinds)", *from, largest_both);
  }
  return c;
}

std::optional<double> scaling_exponent(const std::vector<TimingRow>& rows, const std::string& scope,
                                       const std::string& attention) {
  auto points = measured_seconds(rows, scope, attention);
  if (points.size() < 3) return std::nullopt;
  std::vector<std::pair<double, double>> xy;
  for (const auto& [n, s] : points) xy.emplace_back(std::log(double(n)), std::log(s));
  xy.erase(xy.begin(), xy.begin() + static_cast<long>(xy.size() / 2 - (xy.size() >= 6 ? 0 : 1)));
  double mx = 0, my = 0;
  for (auto [x, y] : xy) mx += x, my += y;
  mx /= xy.size();
  my /= xy.size();
  double sxy = 0, sxx = 0;
  for (auto [x, y] : xy) sxy += (x - mx) * (y - my), sxx += (x - mx) * (x - mx);
  return sxx > 0 ? std::optional<double>(sxy / sxx) : std::nullopt;
}

void write_report(const Config& config, const std::vector<RunResult>& runs, const std::vector<MetricsRow>& metrics,
                  const std::vector<TimingRow>& timing, const std::optional<std::string>& plot_note,
                  const std::string& inspection_section, const std::string& path) {
  std::string md = "# Copy task: softmax vs linear attention\n\n";
  md += fmt::format("Ember's measurement of the three claims of Katharopoulos et al. (2020) that Do & Bergner (2022) "
                    "tested on the copy task. All numbers below come from this run ({}).\n\n", backend_info());
  md += "## Configuration\n\n| setting | value |\n| --- | --- |\n" + config.describe() + "\n";
  md += "### Against the source\n\n" + hyperparameter_table(config) + "\n";

  md += "## Training and held-out evaluation\n\n" + generation_sentence(config) + "\n\n" +
        "| attention | N | seed | steps | final loss | train token acc | held-out token acc | held-out exact seq acc "
        "| train seconds |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : runs) {
    auto last = last_row(metrics, r);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.4f} | {:.4f} | {:.1f} |\n", nn::attention_kind_name(r.kind),
                      r.seq_len, r.seed, r.steps, last ? fmt::format("{:.4f}", last->loss) : "-",
                      last ? fmt::format("{:.4f}", last->token_acc) : "-", r.eval.token_acc, r.eval.exact_acc,
                      r.train_seconds);
  }
  md += seeds_section(config, runs, metrics);

  md += "\n## Timing (the seed study's Table 1, extended)\n\n";
  if (timing.empty()) {
    md += "The timing sweep was not run (--no-sweep).\n";
  } else {
    md += fmt::format("Seconds per training step (forward, backward, Adam step) of the whole model at batch {}, and "
                      "forward+backward of one {}attention layer alone. '-' means not measured (see timing.csv's notes).\n\n",
                      config.sweep_batch, config.protocol == Protocol::Paper ? "causal self-" : "self-");
    md += "| N | softmax model s | linear model s | softmax attention s | linear attention s |\n| --- | --- | --- | --- | --- |\n";
    std::set<std::int64_t> ns;
    for (const auto& r : timing) ns.insert(r.n);
    auto sm = measured_seconds(timing, "model", "softmax"), lm = measured_seconds(timing, "model", "linear");
    auto sa = measured_seconds(timing, "attention", "softmax"), la = measured_seconds(timing, "attention", "linear");
    for (auto n : ns)
      md += fmt::format("| {} | {} | {} | {} | {} |\n", n, fmt_seconds(sm, n), fmt_seconds(lm, n), fmt_seconds(sa, n),
                        fmt_seconds(la, n));
    md += "\n";
    for (const std::string scope : {"model", "attention"}) {
      Crossover c = find_crossover(timing, scope);
      md += fmt::format("- Crossover ({}): {}.\n", scope == "model" ? "whole model" : "attention alone", c.note);
      for (const std::string kind : {"softmax", "linear"}) {
        auto e = scaling_exponent(timing, scope, kind);
        md += fmt::format("- Scaling exponent, {} {} (time ~ N^k over the larger half of N): {}.\n", kind, scope,
                          e ? fmt::format("k = {:.2f}", *e) : "too few points");
      }
    }
    md += "\n" + seed_units_table(timing, config.sweep_batch) + seed_method_section(timing);
  }

  md += "\n## The claims, judged from this run's data\n\n"
        "Each verdict follows from the numbers in its row and the threshold beside it (apps/copy_task/verdicts.h); "
        "'not enough evidence' says what is missing.\n\n"
        "| claim | verdict | evidence | threshold |\n| --- | --- | --- | --- |\n";
  for (const auto& v : judge_claims(runs, timing))
    md += fmt::format("| {} | {} | {} | {} |\n", v.claim, verdict_name(v.verdict), v.evidence, v.threshold);
  if (plot_note) md += "\nPlots: " + *plot_note + ".\n";
  else md += "\n![loss](loss.png)\n\n![time vs N](time_vs_n.png)\n";
  md += inspection_section;
  nn::write_file_atomically(path, md);
}

std::string summary_table(const std::vector<RunResult>& runs, const std::vector<MetricsRow>& metrics,
                          const std::vector<TimingRow>& timing) {
  std::string out = fmt::format("\n{:<9} {:>6} {:>6} {:>7} {:>11} {:>14} {:>12} {:>10}\n", "attention", "N", "seed",
                                "steps", "final loss", "held-out acc", "exact seqs", "train s");
  for (const auto& r : runs) {
    auto last = last_row(metrics, r);
    out += fmt::format("{:<9} {:>6} {:>6} {:>7} {:>11} {:>13.2f}% {:>11.2f}% {:>10.1f}\n",
                       nn::attention_kind_name(r.kind), r.seq_len, r.seed, r.steps,
                       last ? fmt::format("{:.4f}", last->loss) : "-", 100 * r.eval.token_acc, 100 * r.eval.exact_acc,
                       r.train_seconds);
  }
  if (!timing.empty()) {
    out += fmt::format("crossover (whole model): {}\ncrossover (attention):   {}\n", find_crossover(timing, "model").note,
                       find_crossover(timing, "attention").note);
  }
  return out;
}

}  // namespace copy_task
