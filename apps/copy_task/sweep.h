// The timing sweep: seconds per training step of the whole model, and forward+backward of one
// attention layer alone, for both attention kinds at N = 8, 16, 32, ... up to --sweep-max, with
// the peak memory of each point. Kinds are measured interleaved at each N (the machine's speed
// drifts), and a kind stops when its next point would not fit the time budget or, for softmax,
// its N x N scores would not fit in memory.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "config.h"

namespace copy_task {

struct TimingRow {
  std::string scope;      // "model" or "attention"
  std::string attention;  // "softmax" or "linear"
  std::int64_t n = 0;
  std::int64_t batch = 0;
  double seconds = 0;     // median per step; 0 when skipped
  long long peak_rss_bytes = 0;
  std::string note;       // why a point was skipped, else empty
};

// MemAvailable of /proc/meminfo in bytes; 0 when unknown.
long long available_memory_bytes();

struct SweepResult {
  std::vector<TimingRow> rows;
  bool interrupted = false;  // stop was requested: the rows measured so far
};

// Runs the sweep and writes timing.csv (atomically, rewritten after each point). Polls `stop`
// between points and between the repeats of a point.
SweepResult run_sweep(const Config& config, const std::string& csv_path, const std::atomic<bool>& stop);

}  // namespace copy_task
