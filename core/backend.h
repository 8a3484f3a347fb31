// Which compute backends this build of Ember has, and whether a GPU is usable right now.
#pragma once

#include <cstdint>
#include <string>

#include "core/device.h"

namespace ember {

bool cuda_built();         // compiled with the CUDA backend
bool cuda_is_available();  // built with CUDA and at least one device visible
std::string backend_info();  // one line for logs and reports, e.g. "cpu (2 threads), cuda: no device"
// Waits until `device` has finished the work queued on it (for timing); a no-op for the CPU, whose
// ops return when done.
void synchronize(Device device);

namespace cuda {
// Whether float32 matmuls on CUDA may use TF32 tensor cores (10-bit mantissa products, about 1e-3
// relative error, several times faster), as torch.backends.cuda.matmul.allow_tf32. Off by
// default, so float32 results match the CPU to float32 rounding. Process-wide; a no-op without CUDA.
void set_allow_tf32(bool allow);
bool allow_tf32();

bool cudnn_built();  // compiled with cuDNN (bfloat16 attention through its fused kernel)

// Which implementation bfloat16 softmax attention on CUDA used, counted per call: cuDNN's fused
// kernel, or Ember's kernel on float32 copies (EMBER_CUDNN_DEBUG=1 prints each fallback's reason).
// For tests and diagnostics; all zero on the CPU or without cuDNN.
struct AttentionPaths {
  std::int64_t cudnn_forward = 0, cudnn_backward = 0, fallback_forward = 0, fallback_backward = 0;
};
AttentionPaths attention_paths();
void count_attention_path(bool cudnn, bool backward);  // called by the CUDA attention kernels
}  // namespace cuda

}  // namespace ember
