// Optimizers (namespace ember::optim, as libtorch's torch::optim): SGD, Adam, AdamW and RAdam with
// PyTorch's update rules, parameter groups, and a state_dict that resumes training bit-identically.
//
//   optim::AdamW opt(model_params, {.lr = 1e-3, .weight_decay = 0.01});
//   loss.backward(); opt.step(); opt.zero_grad();
//
// Each update is one fused kernel per parameter (ops/optim.h), so it runs on the parameter's
// device. Parameters whose grad is undefined are skipped, and their state does not advance.
//
// State dict layout (all tensors; "g" is the group index, "i" the parameter's index in its group):
//   group.<g>.lr, group.<g>.weight_decay      0-d float64
//   state.<g>.<i>.step                        0-d int64 (on the CPU): updates applied so far
//   state.<g>.<i>.<buffer>                    the parameter's shape, dtype and device:
//       SGD: momentum_buffer (when momentum != 0); Adam/AdamW: exp_avg, exp_avg_sq
//       (+ max_exp_avg_sq with amsgrad); RAdam: exp_avg, exp_avg_sq.
// Every parameter is in the dict from the start (zeros and step 0 until its first update, when its
// state is allocated), so the key set depends only on the optimizer's configuration and
// load_state_dict can check it strictly.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/state_dict.h"

namespace ember::optim {

// Parameters optimized with their own learning rate and weight decay. Unset options take the
// optimizer's defaults when the group is handed to it; from then on both are set, and schedulers
// and users may change them between steps.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  // The lr a scheduler started from: set by the first scheduler attached to the optimizer, so that
  // schedulers made later (e.g. the parts of a SequentialLR) start from it too, as PyTorch's
  // "initial_lr".
  std::optional<double> initial_lr = std::nullopt;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a grad. Runs under NoGradGuard.
  virtual void step() = 0;
  // Drops every parameter's grad (set_to_none, libtorch's default) or fills it with zeros.
  void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Adds a group (unset options from the defaults) with fresh state.
  void add_param_group(ParamGroup group);

  // The live state tensors (no copies, as PyTorch; clone them to snapshot) and each group's
  // options as new 0-d tensors.
  nn::StateDict state_dict() const;
  // Copies a state dict's values in (converting dtype and device), after checking that its keys
  // and shapes are exactly this optimizer's: otherwise throws ember::Error listing the missing,
  // unexpected and mis-shaped keys, and changes nothing.
  void load_state_dict(const nn::StateDict& dict);

  const std::string& name() const { return name_; }

 protected:
  Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr,
            double default_weight_decay);

  // Names of the per-parameter state buffers (besides "step"), each zeros like its parameter.
  virtual std::vector<std::string> buffer_names() const = 0;

  // State of parameter i of group g; "step" is a 0-d int64 CPU tensor.
  nn::StateDict& state(std::size_t g, std::size_t i);

  // Calls update(group, param, grad, state, step) for every parameter with a grad, under
  // NoGradGuard, with the grad made contiguous; `step` counts this update (from 1) and is stored
  // in the state once update returns.
  using UpdateFn = std::function<void(const ParamGroup& group, const Tensor& param, const Tensor& grad,
                                      nn::StateDict& state, std::int64_t step)>;
  void for_each_param_with_grad(const UpdateFn& update);

 private:
  nn::StateDict fresh_state(const Tensor& param) const;
  // Fills the group's unset options and checks its parameters.
  void adopt(ParamGroup& group) const;

  std::string name_;
  double default_lr_, default_weight_decay_;
  std::vector<ParamGroup> groups_;
  // state_[g][i], allocated on a parameter's first update (or load), which also covers parameters
  // users append to a group later.
  std::vector<std::vector<nn::StateDict>> state_;
};

// Throws ember::Error from `op` unless `given` has exactly the keys of `expected` with the same
// shapes; the message lists every missing, unexpected and mis-shaped key. `what` names the owner.
void check_state_dict_matches(const nn::StateDict& expected, const nn::StateDict& given,
                              std::string_view op, std::string_view what);

// For every optimizer, options.lr and options.weight_decay are the defaults of groups that leave
// theirs unset; steps use the groups' values.

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// torch.optim.SGD: g = grad + wd p; with momentum, buf = g on the first step and then
// momentum buf + (1 - dampening) g, and g = buf (or g + momentum buf with nesterov); p -= lr g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options = {});
  SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  void step() override;
  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<std::string> buffer_names() const override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;  // L2: added to the grad
  bool amsgrad = false;     // also keep the running max of exp_avg_sq and divide by it
};

// torch.optim.Adam (weight decay as L2: g = grad + wd p). The formulas are in ops/optim.h.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  void step() override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);
  std::vector<std::string> buffer_names() const override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

// AdamOptions with PyTorch's AdamW default weight decay, 0.01.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled
  bool amsgrad = false;
};

// torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr wd before the Adam update.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
};

struct RAdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;              // L2, as Adam
  bool decoupled_weight_decay = false;  // as AdamW instead
};

// torch.optim.RAdam: Adam whose adaptive step is scaled by a rectification of the adaptive lr's
// variance, and an un-adapted momentum step while too few steps have been seen (rho_t <= 5).
class RAdam : public Optimizer {
 public:
  RAdam(std::vector<Tensor> params, RAdamOptions options = {});
  RAdam(std::vector<ParamGroup> groups, RAdamOptions options = {});
  void step() override;
  const RAdamOptions& options() const { return options_; }

 protected:
  std::vector<std::string> buffer_names() const override;

 private:
  RAdamOptions options_;
};

}  // namespace ember::optim
