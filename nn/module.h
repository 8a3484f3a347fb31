// nn::Module: the base of every layer and model, with libtorch's vocabulary.
//
// A module owns named parameters (tensors that train), named buffers (state that does not train,
// e.g. running statistics) and named child modules. Names compose with dots through the tree
// ("decoder.layers.0.self_attn.q.weight"), which is what state_dict() and checkpoints use.
// Layers keep their own handles to what they registered (`weight = register_parameter(...)`);
// to(device) and load_state_dict() update tensors in place, so those handles stay valid.
//
// Modules with one tensor in and one out derive from UnaryModule, which Sequential chains.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/state_dict.h"

namespace ember::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Registers (and returns) a parameter; it is made a leaf that requires grad.
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
  void collect(const std::string& prefix, bool recurse, bool buffers,
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

}  // namespace ember::nn
