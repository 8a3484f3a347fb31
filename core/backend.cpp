// Backend queries. Whether CUDA is built and usable is asked of the device hooks cuda/ registers
// (core/device_hooks.h); the process-wide CUDA math settings are kept here, so that they can be set
// in any build.
#include "core/backend.h"

#include <fmt/format.h>

#include <atomic>

#include "core/device_hooks.h"
#include "core/threads.h"

namespace ember {

bool cuda_built() { return has_device_hooks(DeviceType::CUDA); }

bool cuda_is_available() { return cuda_built() && device_hooks(kCUDA, "cuda_is_available").device_count() > 0; }

std::string cuda_unavailable_reason() {
  if (!cuda_built()) return "Ember was built without CUDA";
  return device_hooks(kCUDA, "cuda_unavailable_reason").unavailable_reason();
}

void synchronize(Device device) {
  if (device.is_cuda() && cuda_built()) device_hooks(device, "synchronize").synchronize(device.index);
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
}  // namespace

void set_allow_tf32(bool allow) { tf32_allowed.store(allow, std::memory_order_relaxed); }
bool allow_tf32() { return tf32_allowed.load(std::memory_order_relaxed); }
void set_allow_bf16_reduced_precision_reduction(bool allow) {
  bf16_reduced_reduction_allowed.store(allow, std::memory_order_relaxed);
}
bool allow_bf16_reduced_precision_reduction() { return bf16_reduced_reduction_allowed.load(std::memory_order_relaxed); }

}  // namespace cuda

}  // namespace ember
