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

std::string backend_info() {
  std::string cuda_text = !cuda_built() ? "not built"
                          : cuda_is_available() ? "available"
                                                : "built, no device";
  return fmt::format("cpu ({} threads), cuda: {}", get_num_threads(), cuda_text);
}

namespace cuda {

namespace {
std::atomic<bool> tf32_allowed{false};
}

void set_allow_tf32(bool allow) { tf32_allowed.store(allow, std::memory_order_relaxed); }
bool allow_tf32() { return tf32_allowed.load(std::memory_order_relaxed); }

}  // namespace cuda

}  // namespace ember
