// --inspect: what the attention heads of the trained models look at (nn/attention_inspection.h).
//
// After training, each trained kind's final weights (seed --seed; model_<kind>_<L>.safetensors)
// are reloaded and read one held-out batch of the paper layout, every sequence copying the
// longest n of the range (so that all share one layout), from a data stream of its own. For every
// layer and head it records the attention matrix (softmax: softmax(QK^T/sqrt(d)) with the causal
// mask; linear: phi(Q) phi(K)^T, causal, row-normalised) and writes:
//   attention_<kind>_layer<L>.png  heat maps of the batch's first sequence, a panel per head, the
//                                  copy sources circled;
//   attention_metrics.csv          kind, layer, head, entropy, effective_rank, copy_diagonal_mass,
//                                  lin_soft_distance: each the mean over the batch's sequences
//                                  (nn/attention_metrics.h). Query i predicts token i + 1, so in
//                                  the copy (queries n .. 2n-1) query i copies key i - n; the
//                                  other queries are left out of copy_diagonal_mass. With both kinds
//                                  trained, lin_soft_distance is this head's distance to the
//                                  nearest head of the other kind in the same layer (heads of two
//                                  separately trained models are not matched by their index);
// and returns report.md's section comparing the two kinds with these numbers. A kind whose run
// diverged (no final weights) is left out, with a note.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "gnuplot.h"
#include "trainer.h"

namespace copy_task {

struct InspectionOutcome {
  std::string report;  // report.md's section (markdown)
  PlotOutcome plots;   // the heat maps: a note when some were not drawn
};

// Writes the files above into config.out. A file that cannot be written throws
// EnvironmentFailure; gnuplot's failures are reported in `plots`, as draw_plots does.
InspectionOutcome inspect_attention(const Config& config, const std::vector<RunResult>& runs);

}  // namespace copy_task
