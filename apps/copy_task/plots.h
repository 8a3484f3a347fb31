// loss.png and time_vs_n.png, drawn by gnuplot started without a shell (gnuplot.h). loss.png has
// a curve per run; with --seeds K > 1, the mean over the seeds per (attention kind, N), in a band
// from the seeds' minimum to their maximum.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "gnuplot.h"
#include "sweep.h"
#include "trainer.h"  // MetricsRow

namespace copy_task {

// metrics: metrics.csv's rows (none for a run of --steps 0: no loss.png then).
PlotOutcome draw_plots(const Config& config, const std::vector<TimingRow>& timing,
                       const std::vector<MetricsRow>& metrics);

}  // namespace copy_task
