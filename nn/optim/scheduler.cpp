// Learning-rate schedulers: the shared counter/base-lr bookkeeping and each schedule's closed form.
#include "nn/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/factory.h"

namespace ember::optim {

// ---- LRScheduler

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer)
    : name_(std::move(name)), optimizer_(optimizer) {
  for (ParamGroup& group : optimizer_.param_groups()) {
    if (!group.initial_lr) group.initial_lr = *group.lr;
    base_lrs_.push_back(*group.initial_lr);
  }
}

void LRScheduler::apply() {
  std::vector<ParamGroup>& groups = optimizer_.param_groups();
  EMBER_CHECK(groups.size() == base_lrs_.size(),
              "{}: the optimizer has {} parameter groups but the scheduler was made for {}", name_,
              groups.size(), base_lrs_.size());
  last_lr_.clear();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const double lr = lr_at(last_step_, base_lrs_[g]);
    groups[g].lr = lr;
    last_lr_.push_back(lr);
  }
}

void LRScheduler::step() {
  ++last_step_;
  apply();
}

nn::StateDict LRScheduler::state_dict() const {
  nn::StateDict out;
  out["last_step"] = full({}, static_cast<double>(last_step_), kInt64);
  out["base_lrs"] = from_vector<double>(base_lrs_, {static_cast<std::int64_t>(base_lrs_.size())});
  return out;
}

void LRScheduler::load_state_dict(const nn::StateDict& dict) {
  check_state_dict_matches(state_dict(), dict, fmt::format("{}.load_state_dict", name_), "scheduler");
  last_step_ = dict.at("last_step").item<std::int64_t>();
  base_lrs_ = dict.at("base_lrs").to_vector<double>();
  apply();
}

// ---- StepLR

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, got {}", step_size);
  apply();
}

double StepLR::lr_at(std::int64_t t, double base_lr) const {
  return base_lr * std::pow(gamma_, static_cast<double>(t / step_size_));
}

// ---- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler("MultiStepLR", optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  apply();
}

double MultiStepLR::lr_at(std::int64_t t, double base_lr) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
  return base_lr * std::pow(gamma_, static_cast<double>(passed));
}

// ---- LinearWarmup

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup_steps)
    : LRScheduler("LinearWarmup", optimizer), warmup_steps_(warmup_steps) {
  EMBER_CHECK(warmup_steps > 0, "LinearWarmup: warmup_steps must be positive, got {}", warmup_steps);
  apply();
}

double LinearWarmup::lr_at(std::int64_t t, double base_lr) const {
  if (t + 1 >= warmup_steps_) return base_lr;
  return base_lr * static_cast<double>(t + 1) / static_cast<double>(warmup_steps_);
}

// ---- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler("CosineAnnealingLR", optimizer), T_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, got {}", T_max);
  apply();
}

double CosineAnnealingLR::lr_at(std::int64_t t, double base_lr) const {
  const double phase = std::numbers::pi * static_cast<double>(t) / static_cast<double>(T_max_);
  return eta_min_ + (base_lr - eta_min_) * (1 + std::cos(phase)) / 2;
}

// ---- SequentialLR

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler("SequentialLR", optimizer), schedulers_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  EMBER_CHECK(!schedulers_.empty() && milestones_.size() + 1 == schedulers_.size(),
              "SequentialLR: expected one milestone fewer than schedulers, got {} schedulers and "
              "milestones {}", schedulers_.size(), milestones_);
  for (std::size_t k = 0; k < schedulers_.size(); ++k) {
    EMBER_CHECK(schedulers_[k] != nullptr, "SequentialLR: scheduler {} is null", k);
    EMBER_CHECK(&schedulers_[k]->optimizer() == &optimizer,
                "SequentialLR: scheduler {} ({}) drives a different optimizer", k, schedulers_[k]->name());
  }
  for (std::size_t k = 0; k < milestones_.size(); ++k) {
    EMBER_CHECK(milestones_[k] > (k == 0 ? 0 : milestones_[k - 1]),
                "SequentialLR: milestones must be positive and strictly increasing, got {}", milestones_);
  }
  apply();
}

double SequentialLR::lr_at(std::int64_t t, double base_lr) const {
  const auto k = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
  const std::int64_t start = k == 0 ? 0 : milestones_[k - 1];
  return schedulers_[k]->lr_at(t - start, base_lr);
}

}  // namespace ember::optim
