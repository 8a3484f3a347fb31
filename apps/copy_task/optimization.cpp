// The protocol's optimizer and update (see optimization.h).
#include "optimization.h"

using namespace ember;

namespace copy_task {

Optimization make_optimization(const Config& config, const std::vector<Tensor>& parameters) {
  Optimization o;
  if (config.optimizer == OptimizerKind::RAdam) {
    o.optimizer = std::make_unique<optim::RAdam>(
        parameters, optim::RAdamOptions{.lr = config.lr, .weight_decay = config.weight_decay,
                                        .decoupled_weight_decay = true});
  } else if (config.weight_decay > 0) {
    o.optimizer = std::make_unique<optim::AdamW>(
        parameters, optim::AdamWOptions{.lr = config.lr, .weight_decay = config.weight_decay});
  } else {
    o.optimizer = std::make_unique<optim::Adam>(parameters, optim::AdamOptions{.lr = config.lr});
  }
  if (config.lr_drop_step > 0)
    o.scheduler = std::make_unique<optim::MultiStepLR>(*o.optimizer, std::vector<std::int64_t>{config.lr_drop_step},
                                                       config.lr_drop_factor);
  return o;
}

void apply_update(const Config& config, optim::Optimizer& optimizer, const std::vector<Tensor>& parameters) {
  if (config.clip_per_tensor > 0)
    for (const Tensor& p : parameters) optim::clip_grad_norm({p}, config.clip_per_tensor);
  optimizer.step();
}

}  // namespace copy_task
