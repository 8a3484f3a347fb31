// Thread-local storage behind AutocastGuard.
#include "ops/autocast.h"

namespace ember {

namespace {
thread_local AutocastState current_state;
}

AutocastState autocast_state() { return current_state; }

AutocastGuard::AutocastGuard(DType dtype, bool enabled) : previous_(current_state) {
  EMBER_CHECK(dtype == DType::BFloat16, "autocast: only bfloat16 is supported, got {}", dtype);
  current_state = AutocastState{enabled, dtype};
}

AutocastGuard::~AutocastGuard() { current_state = previous_; }

bool autocast_applies(const Tensor& t) {
  return current_state.enabled && t.defined() && t.dtype() == DType::Float32;
}

Tensor autocast_copy(const Tensor& t) { return t.detach().to(current_state.dtype); }

}  // namespace ember
