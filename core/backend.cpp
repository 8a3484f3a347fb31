// Backend queries; the CUDA ones compile to constants in a build without CUDA.
#include "core/backend.h"

#include <fmt/format.h>

#include <atomic>

#include "core/threads.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/context.h"
#endif

namespace ember {

bool cuda_built() {
#ifdef EMBER_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_is_available() {
#ifdef EMBER_WITH_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

std::string cuda_unavailable_reason() {
#ifdef EMBER_WITH_CUDA
  return cuda::unavailable_reason();
#else
  return "Ember was built without CUDA";
#endif
}

void synchronize(Device device) {
#ifdef EMBER_WITH_CUDA
  if (device.is_cuda()) cuda::synchronize(device.index);
#else
  (void)device;
#endif
}

std::string backend_info() {
  std::string cuda_text = !cuda_built() ? "not built"
                          : cuda_is_available() ? "available"
                                                : "built, no device";
  return fmt::format("cpu ({} threads), cuda: {}", get_num_threads(), cuda_text);
}

namespace cuda {

namespace {
std::atomic<bool> tf32_allowed{false};
std::atomic<bool> bf16_reduced_reduction_allowed{false};
// cuDNN forward, cuDNN backward, fallback forward, fallback backward.
std::atomic<std::int64_t> attention_path_counts[4];
}  // namespace

void set_allow_tf32(bool allow) { tf32_allowed.store(allow, std::memory_order_relaxed); }
bool allow_tf32() { return tf32_allowed.load(std::memory_order_relaxed); }
void set_allow_bf16_reduced_precision_reduction(bool allow) {
  bf16_reduced_reduction_allowed.store(allow, std::memory_order_relaxed);
}
bool allow_bf16_reduced_precision_reduction() { return bf16_reduced_reduction_allowed.load(std::memory_order_relaxed); }

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

}  // namespace cuda

}  // namespace ember
