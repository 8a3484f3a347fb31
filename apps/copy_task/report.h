// What a copy-task run leaves behind besides metrics.csv and timing.csv: eval.csv (the plots are
// plots.h's), report.md with the study's tables (Table 1 also in the seed's units beside the
// seed's numbers), both crossovers (measured, and extrapolated by the seed's method) and a
// computed verdict per claim (verdicts.h), and the summary table printed at the end. Every number
// comes from this run's files. With several seeds per (attention kind, N), report.md lists every
// run and then, per (kind, N), the mean and 95 % confidence interval over the seeds (seed_stats.h);
// --inspect's section (inspect.h) comes last.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sweep.h"
#include "trainer.h"

namespace copy_task {

void write_eval_csv(const std::string& path, const Config& config, const std::vector<RunResult>& runs);

// The runs of one (attention kind, N): one per seed, in training order.
struct SeedGroup {
  ember::nn::AttentionKind kind = ember::nn::AttentionKind::Softmax;
  std::int64_t seq_len = 0;
  std::vector<RunResult> runs;
};
// The runs grouped by (kind, N), the groups in training order.
std::vector<SeedGroup> seed_groups(const std::vector<RunResult>& runs);

// Measured seconds per N of one (scope, attention) series of the sweep (skipped points left out).
std::map<std::int64_t, double> measured_seconds(const std::vector<TimingRow>& rows, const std::string& scope,
                                                const std::string& attention);

struct Crossover {
  std::optional<std::int64_t> n;  // smallest N from which linear is faster at every larger N
  std::int64_t largest_both = 0;  // the largest N measured for both kinds; 0 when none
  std::string note;
};
Crossover find_crossover(const std::vector<TimingRow>& rows, const std::string& scope);
// Least-squares slope of log(seconds) on log(N) over the larger half of the measured N.
std::optional<double> scaling_exponent(const std::vector<TimingRow>& rows, const std::string& scope,
                                       const std::string& attention);

void write_report(const Config& config, const std::vector<RunResult>& runs, const std::vector<MetricsRow>& metrics,
                  const std::vector<TimingRow>& timing, const std::optional<std::string>& plot_note,
                  const std::string& inspection_section, const std::string& path);

// The table printed at the end of a run.
std::string summary_table(const std::vector<RunResult>& runs, const std::vector<MetricsRow>& metrics,
                          const std::vector<TimingRow>& timing);

}  // namespace copy_task
