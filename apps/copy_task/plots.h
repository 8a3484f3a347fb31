// loss.png and time_vs_n.png, drawn by gnuplot started without a shell.
//
// gnuplot runs as a child process (posix_spawnp with an argument vector) on a script file; every
// path in the script is data in gnuplot's single-quoted string syntax, so an --out such as
// "it's here" or "x';touch PWNED;echo '" is a folder name, never a command. Each picture is
// written to a temporary name and renamed once gnuplot has succeeded, so a failure (a full disk)
// leaves no half-drawn or empty PNG behind. loss.png has a curve per run; with --seeds K > 1, the
// mean over the seeds per (attention kind, N), in a band from the seeds' minimum to their maximum.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "sweep.h"
#include "trainer.h"  // MetricsRow

namespace copy_task {

struct PlotOutcome {
  std::optional<std::string> note;  // what was not drawn, and why (for the log and report.md)
  bool failed = false;              // gnuplot is installed but failed: an environment failure
};

// metrics: metrics.csv's rows (none for a run of --steps 0: no loss.png then).
PlotOutcome draw_plots(const Config& config, const std::vector<TimingRow>& timing,
                       const std::vector<MetricsRow>& metrics);

// A string literal of gnuplot's syntax holding `text` exactly (single quotes, '' for ').
std::string gnuplot_quoted(const std::string& text);

}  // namespace copy_task
