// Live training progress: a one-line bar redrawn in place on a terminal; on a pipe or file (CI
// logs) one plain line every few percent instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace copy_task {

class Progress {
 public:
  Progress(std::string label, std::int64_t total_steps);
  // Reports the state after `step` (1-based count of steps done).
  void update(std::int64_t step, double loss, double token_acc, double tokens_per_s);
  void finish();

 private:
  std::string label_;
  std::int64_t total_;
  bool terminal_;
  std::int64_t last_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace copy_task
