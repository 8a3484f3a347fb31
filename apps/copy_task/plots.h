// loss.png and time_vs_n.png, drawn by gnuplot started without a shell.
//
// gnuplot runs as a child process (posix_spawnp with an argument vector) on a script file; every
// path in the script is data in gnuplot's single-quoted string syntax, so an --out such as
// "it's here" or "x';touch PWNED;echo '" is a folder name, never a command. Each picture is
// written to a temporary name and renamed once gnuplot has succeeded, so a failure (a full disk)
// leaves no half-drawn or empty PNG behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "sweep.h"

namespace copy_task {

struct PlotOutcome {
  std::optional<std::string> note;  // what was not drawn, and why (for the log and report.md)
  bool failed = false;              // gnuplot is installed but failed: an environment failure
};

// have_metrics: metrics.csv holds at least one row (a run of --steps 0 has none).
PlotOutcome draw_plots(const Config& config, const std::vector<TimingRow>& timing, bool have_metrics);

// A string literal of gnuplot's syntax holding `text` exactly (single quotes, '' for ').
std::string gnuplot_quoted(const std::string& text);

}  // namespace copy_task
