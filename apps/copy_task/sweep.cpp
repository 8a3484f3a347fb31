// Timing sweep (see sweep.h).
#include "sweep.h"

#include <chrono>
#include <fstream>
#include <map>

#include "model.h"
#include "notebook_model.h"  // notebook_attention_heads
#include "optimization.h"

using namespace ember;

namespace copy_task {

namespace {

// The attention-only timing keeps per element of (B, N, d_model): x and its grad, q, k, v, the
// output and their grads, and the backward's scratch.
constexpr double kAttentionFloatsPerElement = 16;

// Linux resets the peak-RSS counter (VmHWM) when "5" is written to clear_refs.
void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

// A "Key:   123 kB" field of a /proc file, in bytes (0 when absent).
long long proc_field_bytes(const char* file, const std::string& field) {
  std::ifstream in(file);
  std::string key;
  long long kib = 0;
  while (in >> key) {
    if (key == field) {
      in >> kib;
      return kib * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

long long peak_rss_bytes() { return proc_field_bytes("/proc/self/status", "VmHWM:"); }

double seconds_of(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  if (cuda_is_available()) synchronize(kCUDA);  // wait for queued GPU work
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One warm-up, then the median of 3 runs (1 run when a step takes over a second); 0 when stop
// was requested in between.
double median_step_seconds(const std::function<void()>& step, const std::atomic<bool>& stop) {
  double first = seconds_of(step);
  if (stop.load()) return 0;
  if (first > 1.0) return seconds_of(step);
  std::vector<double> t;
  for (int i = 0; i < 3; ++i) {
    if (stop.load()) return 0;
    t.push_back(seconds_of(step));
  }
  std::sort(t.begin(), t.end());
  return t[1];
}

void write_csv(const std::string& path, const std::vector<TimingRow>& rows) {
  std::string text = "scope,attention,N,batch,seconds,peak_rss_bytes,note\n";
  for (const auto& r : rows)
    text += fmt::format("{},{},{},{},{:.6g},{},{}\n", r.scope, r.attention, r.n, r.batch, r.seconds, r.peak_rss_bytes, r.note);
  nn::write_file_atomically(path, text);
}

}  // namespace

long long available_memory_bytes() { return proc_field_bytes("/proc/meminfo", "MemAvailable:"); }

SweepResult run_sweep(const Config& config, const std::string& csv_path, const std::atomic<bool>& stop) {
  std::vector<TimingRow> rows;
  const auto sweep_start = std::chrono::steady_clock::now();
  auto remaining = [&] {
    return config.sweep_budget_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
  };
  const bool causal = config.protocol == Protocol::Paper;
  const std::int64_t B = config.sweep_batch;
  std::map<std::string, double> last_seconds;  // "scope/kind" -> time of the previous N
  std::map<std::string, bool> stopped;
  const long long available = available_memory_bytes();
  const double memory = static_cast<double>(available > 0 ? available : 8LL << 30);  // unknown: 8 GiB
  Config at_sweep_batch = config;
  at_sweep_batch.batch = B;
  // sweep_max is at most 2^24 (config.cpp), so doubling n cannot overflow.
  for (std::int64_t n = 8; n <= config.sweep_max; n *= 2) {
    for (const std::string scope : {"attention", "model"}) {
      for (auto kind : config.kinds) {
        if (stop.load()) return {rows, true};
        const std::string name = nn::attention_kind_name(kind);
        const std::string key = scope + "/" + name;
        if (stopped[key]) continue;
        TimingRow row;
        row.scope = scope;
        row.attention = name;
        row.n = n;
        row.batch = B;
        // Both kinds need memory linear in N: the fused softmax kernel never stores the N x N
        // scores (it keeps the output and one log-sum-exp per row), so neither kind is skipped
        // for a quadratic amount that is never allocated.
        const double bytes = scope == "model" ? estimated_training_bytes(at_sweep_batch, n)
                                              : kAttentionFloatsPerElement * sizeof(float) * B * double(n) * config.d_model;
        const double growth = kind == nn::AttentionKind::Softmax ? 4.2 : 2.2;
        if (bytes > 0.6 * memory) {
          row.note = fmt::format("skipped: needs about {:.1f} GiB", bytes / (1 << 30));
        } else if (last_seconds.count(key) && last_seconds[key] * growth * 3 > remaining()) {
          row.note = "skipped: over the time budget";
        }
        if (!row.note.empty()) {
          stopped[key] = true;
          rows.push_back(row);
          write_csv(csv_path, rows);
          continue;
        }
        reset_peak_rss();
        manual_seed(config.seed);
        if (scope == "model") {
          auto model = CopyModel::create(config, kind, n);
          const std::vector<Tensor> parameters = model->module().parameters();
          Optimization optimization = make_optimization(config, parameters);
          row.seconds = median_step_seconds([&] {
            Tensor loss = [&] {
              AutocastGuard autocast(kBFloat16, config.precision == Precision::Bf16);
              return model->sweep_loss(n, B);
            }();
            optimization.optimizer->zero_grad();
            loss.backward();
            apply_update(config, *optimization.optimizer, parameters);
          }, stop);
        } else {
          nn::AttentionOptions options;
          options.kind = kind;
          options.causal = causal;
          // The notebook's linear attention runs heads^2 sub-heads (notebook_model.h).
          const std::int64_t heads =
              config.variant == Variant::Notebook ? notebook_attention_heads(config.heads, kind) : config.heads;
          nn::MultiHeadAttention attention(config.d_model, heads, options);
          attention.to(config.device);
          Tensor x = randn({B, n, config.d_model}).to(config.device).requires_grad_();
          row.seconds = median_step_seconds([&] {
            Tensor y = [&] {
              AutocastGuard autocast(kBFloat16, config.precision == Precision::Bf16);
              return attention.forward(x, x, x);
            }();
            sum(y).backward();
            attention.zero_grad();
            x.set_grad(Tensor());
          }, stop);
        }
        if (stop.load()) return {rows, true};
        row.peak_rss_bytes = peak_rss_bytes();
        last_seconds[key] = row.seconds;
        rows.push_back(row);
        write_csv(csv_path, rows);
        fmt::print("sweep {:>9} {:>7} N={:<6} {:.4g} s/step  peak RSS {:.0f} MiB\n", scope, name, n, row.seconds,
                   row.peak_rss_bytes / 1048576.0);
      }
    }
  }
  return {rows, false};
}

}  // namespace copy_task
