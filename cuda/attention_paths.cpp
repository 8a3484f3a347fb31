// The attention path counters of attention_paths.h, and whether cuDNN was compiled in.
#include "cuda/attention_paths.h"

#include <atomic>

namespace ember::cuda {

namespace {
// cuDNN forward, cuDNN backward, fallback forward, fallback backward.
std::atomic<std::int64_t> attention_path_counts[4];
}  // namespace

bool cudnn_built() {
#ifdef EMBER_WITH_CUDNN
  return true;
#else
  return false;
#endif
}

AttentionPaths attention_paths() {
  auto count = [](int i) { return attention_path_counts[i].load(std::memory_order_relaxed); };
  return {count(0), count(1), count(2), count(3)};
}

void count_attention_path(bool cudnn, bool backward) {
  attention_path_counts[(cudnn ? 0 : 2) + (backward ? 1 : 0)].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ember::cuda
