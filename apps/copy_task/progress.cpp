// Progress bar / plain progress lines (see progress.h).
#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace copy_task {

namespace {
constexpr std::int64_t kPlainEveryPercent = 5;
constexpr int kBarWidth = 24;

std::string duration(double seconds) {
  auto s = static_cast<long long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02d}m", s / 3600, (s / 60) % 60) : fmt::format("{}m{:02d}s", s / 60, s % 60);
}
}  // namespace

Progress::Progress(std::string label, std::int64_t total_steps)
    : label_(std::move(label)), total_(total_steps), terminal_(isatty(fileno(stdout)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(std::int64_t step, double loss, double token_acc, double tokens_per_s) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(step) / total_ : 1.0;
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  const std::string stats = fmt::format("step {}/{}  loss {:.4f}  acc {:.3f}  {:.0f} tok/s  ETA {}", step, total_,
                                        loss, token_acc, tokens_per_s, duration(eta));
  if (terminal_) {
    const int filled = static_cast<int>(fraction * kBarWidth);
    fmt::print("\r{} [{}{}] {}\x1b[K", label_, std::string(filled, '#'), std::string(kBarWidth - filled, '.'), stats);
    std::fflush(stdout);
    return;
  }
  const std::int64_t percent = static_cast<std::int64_t>(fraction * 100);
  if (percent / kPlainEveryPercent == last_percent_ / kPlainEveryPercent && step != total_) return;
  last_percent_ = percent;
  fmt::print("{} {:3d}%  {}\n", label_, percent, stats);
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) fmt::print("\n");
  std::fflush(stdout);
}

}  // namespace copy_task
