// nn::Module: the base of every layer and model, with libtorch's vocabulary.
//
// A module owns named parameters (tensors that train), named buffers (state that does not train,
// e.g. running statistics) and named child modules. Names compose with dots through the tree
// ("decoder.layers.0.self_attn.q.weight"), which is what state_dict() and checkpoints use.
// Layers keep their own handles to what they registered (`weight = register_parameter(...)`);
// to(device) and load_state_dict() update tensors in place, so those handles stay valid.
//
// Names are unique within a module (a parameter, a buffer and a child cannot share one). A tensor
// or a module may be registered in several places (tied weights: an output projection reusing the
// input embedding; a shared block): traversals visit each once, under the first name reached, so
// parameters() hands an optimizer every tensor exactly once and state_dict() stores it once.
//
// Modules with one tensor in and one out derive from UnaryModule, which Sequential chains;
// ModuleList holds numbered children ("layers.0", "layers.1", ...).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "nn/state_dict.h"

namespace ember::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Registers (and returns) a parameter. A leaf is registered as itself (so registering one tensor
  // twice ties the two uses); a non-leaf is detached first. requires_grad is set as asked.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  // Direct children in registration order, a module registered under two names listed twice.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }

  // Training mode (dropout active) for this module and all descendants.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Clears the gradients of all parameters.
  void zero_grad();
  // Moves every parameter and buffer (in place, keeping handles valid).
  void to(Device device);
  void to(DType dtype);

  // Parameters and buffers by dotted name.
  StateDict state_dict() const;
  // Copies values in. Strict: missing, unexpected and mis-shaped keys are all listed in one error.
  void load_state_dict(const StateDict& state, bool strict = true);

  std::int64_t num_parameters() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  // Throws unless `name` is a valid, unused name in this module.
  void check_new_name(const std::string& name, const char* kind) const;
  struct Visited;
  void collect(const std::string& prefix, bool recurse, bool buffers, Visited& visited,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module mapping one tensor to one tensor.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

// Puts a module in eval mode for a scope and restores its mode after (generation runs in it).
class EvalScope {
 public:
  explicit EvalScope(Module& module) : module_(module), was_training_(module.is_training()) { module.eval(); }
  ~EvalScope() { module_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  Module& module_;
  bool was_training_;
};

// Numbered children, as libtorch's ModuleList: push_back registers a module under the name "0",
// "1", ..., so a list registered as "layers" yields "layers.0.weight". M is the element type
// (Module for a mixed list); indexing and iteration hand back std::shared_ptr<M>.
template <typename M = Module>
class ModuleList : public Module {
 public:
  ModuleList() = default;
  ModuleList(std::initializer_list<std::shared_ptr<M>> modules) {
    for (const auto& m : modules) push_back(m);
  }

  void push_back(std::shared_ptr<M> module) {
    items_.push_back(register_module(std::to_string(items_.size()), std::move(module)));
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Throws ember::Error for an index past the end.
  const std::shared_ptr<M>& operator[](std::size_t i) const {
    EMBER_CHECK(i < items_.size(), "ModuleList: index {} out of range for a list of {} modules", i,
                items_.size());
    return items_[i];
  }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace ember::nn
