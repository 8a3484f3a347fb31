// Losses over sequence models' (B, N, V) logits.
#pragma once

#include "ops/loss.h"

namespace ember::nn {

// Mean cross entropy over the positions where mask is nonzero (mask: (B, N), any dtype); the
// other positions neither count nor get gradient. Same as ember::cross_entropy with those
// targets set to ignore_index.
Tensor masked_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& mask,
                            double label_smoothing = 0.0);

}  // namespace ember::nn
