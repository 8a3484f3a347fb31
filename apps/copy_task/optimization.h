// The protocol's optimizer, learning-rate schedule and update, shared by training and the timing
// sweep (so that the sweep times the update the protocol really makes).
//
//   RAdam: decoupled weight decay, as the authors' radam.py; Adam: plain, or AdamW's decoupled
//          decay when --weight-decay is set;
//   clip_per_tensor > 0: each parameter's gradient norm is clipped on its own before the step, as
//          radam.py calls clip_grad_norm_(p, max_grad_norm) per parameter;
//   lr_drop_step > 0: the lr is multiplied by lr_drop_factor once, after that many steps (main.py's
//          LambdaLR), not every lr_drop_step steps.
#pragma once

#include <memory>
#include <vector>

#include "config.h"

namespace copy_task {

struct Optimization {
  std::unique_ptr<ember::optim::Optimizer> optimizer;
  std::unique_ptr<ember::optim::LRScheduler> scheduler;  // null without an lr drop
};

Optimization make_optimization(const Config& config, const std::vector<ember::Tensor>& parameters);

// Clips (when the protocol does) and steps the optimizer; the scheduler is stepped by the caller.
void apply_update(const Config& config, ember::optim::Optimizer& optimizer, const std::vector<ember::Tensor>& parameters);

}  // namespace copy_task
