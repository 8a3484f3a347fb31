// Training one (attention kind, sequence length) run of the copy task: the optimisation loop,
// metrics.csv rows, checkpoints and resume, and the held-out evaluation at the end. The paper
// protocol also runs the authors' periodic test (main.py `evaluate`): every 100 steps, 20 fresh
// batches, teacher-forced, without dropout, the same masked loss and accuracy as training; its
// rows go to test_metrics.csv (same columns as metrics.csv, tokens_per_s of the test itself).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "config.h"
#include "model.h"

namespace copy_task {

inline constexpr std::int64_t kTestEvery = 100;   // main.py: one "epoch" is 100 steps
inline constexpr std::int64_t kTestBatches = 20;  // main.py: evaluate() reads 20 batches

struct MetricsRow {
  std::int64_t step = 0;
  std::string attention;
  std::int64_t seq_len = 0;
  double loss = 0, token_acc = 0, lr = 0, elapsed_s = 0, tokens_per_s = 0;
};

// metrics.csv. Rows are kept in memory and the whole file is rewritten through a temporary file
// at each append, so the file always holds complete rows (a killed run or a full disk never leaves
// half a row); a failed write throws EnvironmentFailure naming the file and the OS reason.
class MetricsLog {
 public:
  // Reads the rows already there (a resumed run), or starts the file with its header.
  explicit MetricsLog(std::string path);
  // On resume: drops rows of (attention, seq_len) after `step`.
  void truncate_after(const std::string& attention, std::int64_t seq_len, std::int64_t step);
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
RunResult train_run(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len, MetricsLog& log,
                    MetricsLog* test_log, const std::atomic<bool>& stop);

// Where run (kind, seq_len) keeps its checkpoint and final weights inside config.out.
std::string checkpoint_path(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len);
std::string weights_path(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len);

}  // namespace copy_task
