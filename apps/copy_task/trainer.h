// Training one (attention kind, sequence length) run of the copy task: the optimisation loop,
// metrics.csv rows, checkpoints and resume, and the held-out evaluation at the end.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "config.h"
#include "model.h"

namespace copy_task {

struct MetricsRow {
  std::int64_t step = 0;
  std::string attention;
  std::int64_t seq_len = 0;
  double loss = 0, token_acc = 0, lr = 0, elapsed_s = 0, tokens_per_s = 0;
};

// metrics.csv, appended row by row (flushed, so a killed run loses at most the row in flight).
class MetricsLog {
 public:
  explicit MetricsLog(std::string path);
  // On resume: drops rows of (attention, seq_len) after `step`, and any torn last line.
  void truncate_after(const std::string& attention, std::int64_t seq_len, std::int64_t step);
  void append(const MetricsRow& row);
  // Rows of one run (for plots and the report).
  std::vector<MetricsRow> rows() const;

 private:
  std::string path_;
};

struct RunResult {
  ember::nn::AttentionKind kind = ember::nn::AttentionKind::Softmax;
  std::int64_t seq_len = 0;
  std::int64_t steps = 0;
  double final_loss = 0, final_train_acc = 0;
  EvalResult eval;
  double train_seconds = 0;
  bool interrupted = false;
};

// Trains (or resumes) one run. Sets result.interrupted, after writing a checkpoint, when
// `stop` becomes true.
RunResult train_run(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len, MetricsLog& log,
                    const std::atomic<bool>& stop);

// Where run (kind, seq_len) keeps its checkpoint and final weights inside config.out.
std::string checkpoint_path(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len);
std::string weights_path(const Config& config, ember::nn::AttentionKind kind, std::int64_t seq_len);

}  // namespace copy_task
