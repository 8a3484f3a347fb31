// Which implementation bfloat16 softmax attention on CUDA used, counted per call by cuda/sdpa.cu:
// cuDNN's fused kernel, or Ember's kernel on float32 copies (EMBER_CUDNN_DEBUG=1 prints each
// fallback's reason). For tests and diagnostics; all zero without cuDNN or before any bfloat16
// attention ran.
#pragma once

#include <cstdint>

namespace ember::cuda {

bool cudnn_built();  // compiled with cuDNN (bfloat16 attention through its fused kernel)

struct AttentionPaths {
  std::int64_t cudnn_forward = 0, cudnn_backward = 0, fallback_forward = 0, fallback_backward = 0;
};
AttentionPaths attention_paths();
void count_attention_path(bool cudnn, bool backward);  // called by cuda/sdpa.cu once per call

}  // namespace ember::cuda
