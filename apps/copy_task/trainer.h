// Training one (attention kind, sequence length, seed) run of the copy task: the optimisation
// loop, metrics.csv rows, checkpoints and resume, and the held-out evaluation at the end. The paper
// protocol also runs the authors' periodic test (main.py `evaluate`): every 100 steps, 20 fresh
// batches, teacher-forced, without dropout, the same masked loss and accuracy as training; its
// rows go to test_metrics.csv (same columns as metrics.csv, tokens_per_s of the test itself).
//
// A run's seed keys everything random in it: the initial weights and dropout (the default
// generator), the training batches (data.h: batch t of stream `seed`), the held-out sequences and
// the periodic test's batches (streams of their own, the seed XOR a constant). With --seeds K, run
// k has seed --seed + k, so the K runs of a (kind, N) share no stream.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "config.h"
#include "model.h"

namespace copy_task {

inline constexpr std::int64_t kTestEvery = 100;   // main.py: one "epoch" is 100 steps
inline constexpr std::int64_t kTestBatches = 20;  // main.py: evaluate() reads 20 batches

// One training run: an attention kind, a sequence length, and the seed of its weights and data.
struct RunId {
  ember::nn::AttentionKind kind = ember::nn::AttentionKind::Softmax;
  std::int64_t seq_len = 0;
  std::uint64_t seed = 0;
};

// "softmax N=8" for a run of a one-seed study, "softmax N=8 seed 3" when there are several.
std::string run_label(const Config& config, const RunId& run);

struct MetricsRow {
  std::int64_t step = 0;
  std::string attention;
  std::int64_t seq_len = 0;
  double loss = 0, token_acc = 0, lr = 0, elapsed_s = 0, tokens_per_s = 0;
  std::uint64_t seed = 0;  // the run's seed: the last column, after the 8 that files had before --seeds
};

// metrics.csv. Rows are kept in memory and the whole file is rewritten through a temporary file
// at each append, so the file always holds complete rows (a killed run or a full disk never leaves
// half a row); a failed write throws EnvironmentFailure naming the file and the OS reason.
class MetricsLog {
 public:
  // Reads the rows already there (a resumed run), or starts the file with its header. Rows of a
  // file written before --seeds (8 columns) were trained with seed `seed_of_old_rows`.
  MetricsLog(std::string path, std::uint64_t seed_of_old_rows);
  // On resume: drops rows of run `run` after `step`.
  void truncate_after(const RunId& run, std::int64_t step);
  void append(const MetricsRow& row);
  // Every row, in order (for plots and the report).
  const std::vector<MetricsRow>& rows() const { return rows_; }

 private:
  void write() const;

  std::string path_;
  std::vector<MetricsRow> rows_;
};

struct RunResult {
  ember::nn::AttentionKind kind = ember::nn::AttentionKind::Softmax;
  std::int64_t seq_len = 0;
  std::uint64_t seed = 0;
  std::int64_t steps = 0;
  double final_loss = 0, final_train_acc = 0;
  EvalResult eval;
  double train_seconds = 0;
  bool interrupted = false;
  bool diverged = false;  // the loss became NaN or infinite: training stopped there
};

// Trains (or resumes) one run, then evaluates it. test_log receives the periodic test's rows
// (the paper protocol; nullptr skips the test). Sets result.interrupted, after writing a
// checkpoint, when `stop` becomes true during training or evaluation. A checkpoint is always
// written when training ends (finished), so that a run interrupted later resumes without
// training again.
RunResult train_run(const Config& config, const RunId& run, MetricsLog& log, MetricsLog* test_log,
                    const std::atomic<bool>& stop);

// Where a run keeps its checkpoint and final weights inside config.out: <kind>_<N>, and with
// --seeds K > 1 <kind>_<N>_seed<S> (one seed keeps the names folders had before --seeds).
std::string checkpoint_path(const Config& config, const RunId& run);
std::string weights_path(const Config& config, const RunId& run);

}  // namespace copy_task
