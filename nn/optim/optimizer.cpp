// Optimizer bookkeeping (groups, state, state dicts) and the SGD/Adam/AdamW/RAdam steps, each a
// call of a fused kernel from ops/optim.h per parameter.
#include "nn/optim/optimizer.h"

#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "ops/optim.h"

namespace ember::optim {
namespace {

std::string group_key(std::size_t g, std::string_view option) { return fmt::format("group.{}.{}", g, option); }

std::string state_key(std::size_t g, std::size_t i, std::string_view name) {
  return fmt::format("state.{}.{}.{}", g, i, name);
}

// Every option is a finite number; NaN or inf would only surface steps later as NaN weights.
void check_option(bool ok, std::string_view optimizer, std::string_view option, double value,
                  std::string_view expected) {
  EMBER_CHECK(ok && std::isfinite(value), "{}: invalid {} {} (expected a finite value {})", optimizer,
              option, value, expected);
}

void check_betas(std::string_view optimizer, std::pair<double, double> betas) {
  check_option(betas.first >= 0 && betas.first < 1, optimizer, "beta1", betas.first, "in [0, 1)");
  check_option(betas.second >= 0 && betas.second < 1, optimizer, "beta2", betas.second, "in [0, 1)");
}

}  // namespace

void check_state_dict_matches(const nn::StateDict& expected, const nn::StateDict& given,
                              std::string_view op, std::string_view what) {
  std::vector<std::string> missing, unexpected, misshaped;
  for (const auto& [key, t] : expected) {
    auto it = given.find(key);
    if (it == given.end() || !it->second.defined()) {
      missing.push_back(key);
    } else if (it->second.shape() != t.shape()) {
      misshaped.push_back(fmt::format("{} (expected {}, got {})", key, t.shape(), it->second.shape()));
    }
  }
  for (const auto& [key, t] : given) {
    if (!expected.contains(key)) unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    fail("{}: the state dict does not match this {}: missing keys [{}]; unexpected keys [{}]; "
         "mis-shaped keys [{}]", op, what, fmt::join(missing, ", "), fmt::join(unexpected, ", "),
         fmt::join(misshaped, ", "));
  }
}

// ---- Optimizer

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay)
    : name_(std::move(name)), default_lr_(default_lr), default_weight_decay_(default_weight_decay) {
  check_option(default_lr >= 0, name_, "lr", default_lr, ">= 0");
  check_option(default_weight_decay >= 0, name_, "weight_decay", default_weight_decay, ">= 0");
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Optimizer::adopt(ParamGroup& group) const {
  if (!group.lr) group.lr = default_lr_;
  if (!group.weight_decay) group.weight_decay = default_weight_decay_;
  check_option(*group.lr >= 0, name_, "lr", *group.lr, ">= 0");
  check_option(*group.weight_decay >= 0, name_, "weight_decay", *group.weight_decay, ">= 0");
  // PyTorch refuses a parameter listed twice: it would be updated twice per step.
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& other : groups_)
    for (const Tensor& p : other.params) seen.insert(p.impl());
  for (const Tensor& p : group.params) {
    EMBER_CHECK(p.defined(), "{}: parameter group {} holds an undefined tensor", name_, groups_.size());
    EMBER_CHECK(is_floating(p.dtype()), "{}: cannot optimize a {} tensor of shape {}", name_, p.dtype(),
                p.shape());
    EMBER_CHECK(p.is_leaf(), "{}: cannot optimize a non-leaf tensor of shape {} (use a parameter, or "
                "detach() it)", name_, p.shape());
    EMBER_CHECK(seen.insert(p.impl()).second, "{}: a parameter of shape {} appears twice", name_, p.shape());
  }
}

void Optimizer::add_param_group(ParamGroup group) {
  adopt(group);
  groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) {
      if (set_to_none) {
        p.set_grad(Tensor());
      } else if (Tensor g = p.grad(); g.defined()) {
        g.zero_();
      }
    }
  }
}

nn::StateDict Optimizer::fresh_state(const Tensor& param) const {
  nn::StateDict s;
  s["step"] = zeros({}, kInt64);
  for (const std::string& name : buffer_names())
    s[name] = zeros(param.shape(), TensorOptions(param.dtype(), param.device()));
  return s;
}

nn::StateDict& Optimizer::state(std::size_t g, std::size_t i) {
  if (state_.size() <= g) state_.resize(groups_.size());
  std::vector<nn::StateDict>& group_state = state_[g];
  if (group_state.size() <= i) group_state.resize(groups_[g].params.size());
  nn::StateDict& s = group_state[i];
  if (s.empty()) s = fresh_state(groups_[g].params[i]);
  return s;
}

void Optimizer::for_each_param_with_grad(const UpdateFn& update) {
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      EMBER_CHECK(p.defined(), "{}: parameter {} of group {} is undefined", name_, i, g);
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      nn::StateDict& s = state(g, i);
      std::int64_t& step = s.at("step").data_ptr<std::int64_t>()[0];
      update(group, p, grad.contiguous(), s, step + 1);
      ++step;
    }
  }
}

nn::StateDict Optimizer::state_dict() const {
  nn::StateDict out;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    out[group_key(g, "lr")] = full({}, *group.lr, kFloat64);
    out[group_key(g, "weight_decay")] = full({}, *group.weight_decay, kFloat64);
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const bool stored = g < state_.size() && i < state_[g].size() && !state_[g][i].empty();
      const nn::StateDict s = stored ? state_[g][i] : fresh_state(group.params[i]);
      for (const auto& [name, t] : s) out[state_key(g, i, name)] = t;
    }
  }
  return out;
}

void Optimizer::load_state_dict(const nn::StateDict& dict) {
  // Check everything first, so that a bad dict leaves the optimizer as it was.
  check_state_dict_matches(state_dict(), dict, fmt::format("{}.load_state_dict", name_), "optimizer");
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    group.lr = dict.at(group_key(g, "lr")).item<double>();
    group.weight_decay = dict.at(group_key(g, "weight_decay")).item<double>();
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      // Copies, never aliases: the dict's tensors stay the caller's.
      for (auto& [name, t] : state(g, i)) t.copy_(dict.at(state_key(g, i, name)).to(t.device()));
    }
  }
}

// ---- SGD

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
  check_option(options.momentum >= 0, "SGD", "momentum", options.momentum, ">= 0");
  EMBER_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: nesterov needs momentum > 0 and dampening 0, got momentum {} and dampening {}",
              options.momentum, options.dampening);
}

std::vector<std::string> SGD::buffer_names() const {
  if (options_.momentum == 0) return {};
  return {"momentum_buffer"};
}

void SGD::step() {
  for_each_param_with_grad([this](const ParamGroup& group, const Tensor& p, const Tensor& grad,
                                  nn::StateDict& s, std::int64_t step) {
    SgdStepOptions o{.lr = *group.lr,
                     .momentum = options_.momentum,
                     .dampening = options_.dampening,
                     .weight_decay = *group.weight_decay,
                     .nesterov = options_.nesterov,
                     .first_step = step == 1};
    fused_sgd_step(p, grad, options_.momentum != 0 ? s.at("momentum_buffer") : Tensor(), o);
  });
}

// ---- Adam, AdamW

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam("Adam", std::move(groups), options, /*decoupled=*/false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(name), std::move(groups), options.lr, options.weight_decay),
      options_(options), decoupled_(decoupled) {
  check_betas(this->name(), options.betas);
  check_option(options.eps >= 0, this->name(), "eps", options.eps, ">= 0");
}

std::vector<std::string> Adam::buffer_names() const {
  if (options_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

void Adam::step() {
  for_each_param_with_grad([this](const ParamGroup& group, const Tensor& p, const Tensor& grad,
                                  nn::StateDict& s, std::int64_t step) {
    AdamStepOptions o{.lr = *group.lr,
                      .beta1 = options_.betas.first,
                      .beta2 = options_.betas.second,
                      .eps = options_.eps,
                      .weight_decay = *group.weight_decay,
                      .decoupled_weight_decay = decoupled_,
                      .rectified = false,
                      .amsgrad = options_.amsgrad,
                      .step = step};
    fused_adam_step(p, grad, s.at("exp_avg"), s.at("exp_avg_sq"),
                    options_.amsgrad ? s.at("max_exp_avg_sq") : Tensor(), o);
  });
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions o)
    : Adam("AdamW", std::move(groups),
           AdamOptions{.lr = o.lr, .betas = o.betas, .eps = o.eps, .weight_decay = o.weight_decay,
                       .amsgrad = o.amsgrad},
           /*decoupled=*/true) {}

// ---- RAdam

RAdam::RAdam(std::vector<Tensor> params, RAdamOptions options)
    : RAdam(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

RAdam::RAdam(std::vector<ParamGroup> groups, RAdamOptions options)
    : Optimizer("RAdam", std::move(groups), options.lr, options.weight_decay), options_(options) {
  check_betas("RAdam", options.betas);
  check_option(options.eps >= 0, "RAdam", "eps", options.eps, ">= 0");
}

std::vector<std::string> RAdam::buffer_names() const { return {"exp_avg", "exp_avg_sq"}; }

void RAdam::step() {
  for_each_param_with_grad([this](const ParamGroup& group, const Tensor& p, const Tensor& grad,
                                  nn::StateDict& s, std::int64_t step) {
    AdamStepOptions o{.lr = *group.lr,
                      .beta1 = options_.betas.first,
                      .beta2 = options_.betas.second,
                      .eps = options_.eps,
                      .weight_decay = *group.weight_decay,
                      .decoupled_weight_decay = options_.decoupled_weight_decay,
                      .rectified = true,
                      .amsgrad = false,
                      .step = step};
    fused_adam_step(p, grad, s.at("exp_avg"), s.at("exp_avg_sq"), Tensor(), o);
  });
}

}  // namespace ember::optim
