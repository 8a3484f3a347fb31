// Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// The norm of all the parameters' grads taken together, as if concatenated into one vector
// (norm_type p > 0, or infinity for the largest magnitude), is returned as it was before clipping.
// When max_norm / (total + 1e-6) < 1 every grad is scaled in place by that factor, so the total
// becomes (just under) max_norm. Parameters without a grad are ignored; with none, returns 0.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace ember::optim
