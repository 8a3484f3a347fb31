// Shared pieces of Ember's benchmarks: timing with warm-up and medians, peak RSS, CSV rows.
// Benchmarks print CSV on stdout (header first) and nothing else there; notes go to stderr.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/threads.h"

namespace ember::bench {

// Median wall-clock seconds of `repeats` runs of fn after `warmup` unmeasured runs.
inline double median_seconds(const std::function<void()>& fn, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Peak resident set size of this process so far, in bytes.
inline long long peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<long long>(usage.ru_maxrss) * 1024;
}

inline constexpr const char* kCsvHeader = "impl,op,kind,causal,B,H,N,D,seconds,peak_rss_bytes,gflops";

struct Row {
  std::string impl = "ember", op, kind;
  bool causal = false;
  long long B = 0, H = 0, N = 0, D = 0;
  double seconds = 0, flops = 0;
};

// Options every subcommand shares.
struct CommonOptions {
  int warmup = 1, repeats = 3, threads = 0;
  bool header = true;
};

inline void add_common_options(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--warmup", o.warmup, "unmeasured runs")->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", o.repeats, "measured runs (median)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o.threads, "OpenMP threads (0: default)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("!--no-header", o.header, "omit the CSV header");
}

// Applies the thread count and prints the header; call at the start of a subcommand.
inline void begin(const CommonOptions& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  fmt::print(stderr, "threads: {}\n", get_num_threads());
  if (o.header) fmt::print("{}\n", kCsvHeader);
}

inline void print_row(const Row& r) {
  fmt::print("{},{},{},{},{},{},{},{},{:.6g},{},{:.4g}\n", r.impl, r.op, r.kind, r.causal ? 1 : 0, r.B, r.H,
             r.N, r.D, r.seconds, peak_rss_bytes(), r.flops / r.seconds / 1e9);
  std::fflush(stdout);
}

}  // namespace ember::bench
