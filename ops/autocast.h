// Autocast: mixed-precision regions, in the manner of torch.autocast.
//
//   {
//     ember::AutocastGuard autocast(ember::kBFloat16);
//     Tensor loss = cross_entropy(model.forward(x), y);   // GEMMs and attention read bf16
//   }
//   loss.backward();                                       // weight grads arrive in float32
//
// Inside the region, the ops on the low-precision list (matmul, hence Linear; sdpa on CUDA where
// cuDNN's fused attention takes the shape) read their float32 operands rounded to bfloat16,
// accumulate in float32 and return float32. Everything else (elementwise, norms, softmax, losses,
// the optimizer) runs in float32 as before, so the parameters stay float32 master weights, and
// what the listed ops save for backward is the bfloat16 copies (half the memory). Their backward
// runs in bfloat16 too: the incoming float32 gradient is rounded to bfloat16 for the GEMMs.
//
// The state is thread-local, like grad mode. float64 operands are never downcast.
#pragma once

#include "core/tensor.h"

namespace ember {

struct AutocastState {
  bool enabled = false;
  DType dtype = DType::BFloat16;
};

AutocastState autocast_state();

// Enables autocast to `dtype` (only bfloat16 is supported) for its scope; restores the previous
// state on exit. `enabled = false` switches autocast off inside an enclosing region.
class AutocastGuard {
 public:
  explicit AutocastGuard(DType dtype = DType::BFloat16, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState previous_;
};

// True when autocast is on and t is a float32 tensor, i.e. a low-precision op should read it as
// the autocast dtype.
bool autocast_applies(const Tensor& t);

// t detached and converted to the autocast dtype (no graph: the calling op records its own node).
Tensor autocast_copy(const Tensor& t);

}  // namespace ember
