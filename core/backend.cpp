// Backend queries; the CUDA ones compile to constants in a build without CUDA.
#include "core/backend.h"

#include <fmt/format.h>

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

}  // namespace ember
