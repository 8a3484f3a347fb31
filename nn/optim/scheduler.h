// Learning-rate schedulers (PyTorch's torch.optim.lr_scheduler, closed forms): each sets every
// parameter group's lr from the group's base lr and a step counter.
//
//   optim::Adam opt(params, {.lr = 1e-3});
//   optim::StepLR sched(opt, /*step_size=*/3000, /*gamma=*/0.1);
//   for (...) { ...; opt.step(); sched.step(); }   // steps 0..2999 use 1e-3, then 1e-4
//
// A scheduler sets lr = lr_at(0, base) when made, and lr_at(t, base) after its t-th step(). The
// base lr of a group is the lr it had when the first scheduler was attached to the optimizer
// (remembered in ParamGroup::initial_lr), so schedulers made later, or inside a SequentialLR, start
// from the same base. Schedules are closed forms of t, so a resumed run (state_dict holds the
// counter and the base lrs) continues with exactly the same values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"
#include "nn/state_dict.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances the counter by one and sets every group's lr.
  void step();
  // The lrs set by the last step() (or by the constructor), one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  // Number of step() calls so far (PyTorch's last_epoch).
  std::int64_t last_step() const { return last_step_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() const { return optimizer_; }
  const std::string& name() const { return name_; }

  // The lr of a group whose schedule starts from base_lr, after t steps.
  virtual double lr_at(std::int64_t t, double base_lr) const = 0;

  // "last_step" (0-d int64) and "base_lrs" (float64, one per group).
  nn::StateDict state_dict() const;
  // Restores the counter and base lrs and sets the lrs for them; throws ember::Error naming the
  // missing, unexpected or mis-shaped keys.
  void load_state_dict(const nn::StateDict& dict);

 protected:
  LRScheduler(std::string name, Optimizer& optimizer);
  // Sets every group's lr for the current counter. Each derived constructor calls it last, once
  // lr_at can be called.
  void apply();

 private:
  std::string name_;
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  std::int64_t last_step_ = 0;
};

// lr = base * gamma^floor(t / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t t, double base_lr) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr = base * gamma^(number of milestones <= t); a milestone listed twice counts twice.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  double lr_at(std::int64_t t, double base_lr) const override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted
  double gamma_;
};

// lr = base * min(1, (t + 1) / warmup_steps): the first step uses base / warmup_steps, step
// warmup_steps - 1 and every later one the full base lr.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps);
  double lr_at(std::int64_t t, double base_lr) const override;

 private:
  std::int64_t warmup_steps_;
};

// lr = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2, PyTorch's closed form: it reaches
// eta_min at t = T_max and, like PyTorch's, rises again after it (chain a constant to stop there).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0);
  double lr_at(std::int64_t t, double base_lr) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

// Runs schedulers one after another, as torch.optim.lr_scheduler.SequentialLR: schedulers[k]
// drives steps [milestones[k-1], milestones[k]) with its counter restarted at 0, e.g. a warmup
// then a cosine decay:
//   SequentialLR(opt, {make_shared<LinearWarmup>(opt, 100), make_shared<CosineAnnealingLR>(opt, 900)}, {100})
// Only the SequentialLR is stepped; the parts just supply their lr_at.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  double lr_at(std::int64_t t, double base_lr) const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;  // strictly increasing, one fewer than schedulers
};

}  // namespace ember::optim
