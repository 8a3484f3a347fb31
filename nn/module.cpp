// Module bookkeeping: registration, traversal, modes, device moves and state dicts.
#include "nn/module.h"

#include <algorithm>
#include <set>

#include "autograd/grad_mode.h"
#include "ops/copy.h"

namespace ember::nn {

namespace {

void check_name(const std::string& name, const char* what) {
  EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos,
              "Module: {} name '{}' must be non-empty and contain no '.'", what, name);
}

// Points `t`'s own TensorImpl at `moved`'s data, so every handle to t sees the move.
void replace_data(const Tensor& t, const Tensor& moved) {
  TensorImpl* impl = t.impl();
  impl->storage = moved.storage();
  impl->shape = moved.shape();
  impl->strides = moved.strides();
  impl->offset = moved.offset();
  impl->dtype = moved.dtype();
  impl->grad = nullptr;
}

}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_name(name, "parameter");
  EMBER_CHECK(tensor.defined(), "Module: parameter '{}' is undefined", name);
  Tensor leaf = tensor.detach();
  if (requires_grad) leaf.requires_grad_();
  parameters_.emplace_back(name, leaf);
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_name(name, "buffer");
  buffers_.emplace_back(name, tensor.detach());
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "module");
  EMBER_CHECK(module != nullptr, "Module: child module '{}' is null", name);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool recurse, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, t);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", recurse, false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", recurse, true, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.set_grad(Tensor());
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const auto& [name, t] : named_parameters()) replace_data(t, t.to(device));
  for (const auto& [name, t] : named_buffers()) replace_data(t, t.to(device));
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (const auto& [name, t] : named_parameters())
    if (is_floating(t.dtype())) replace_data(t, t.to(dtype));
  for (const auto& [name, t] : named_buffers())
    if (is_floating(t.dtype())) replace_data(t, t.to(dtype));
}

StateDict Module::state_dict() const {
  StateDict state;
  for (auto& [name, t] : named_parameters()) state[name] = t.detach();
  for (auto& [name, t] : named_buffers()) state[name] = t.detach();
  return state;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  auto own = named_parameters();
  auto buffers = named_buffers();
  own.insert(own.end(), buffers.begin(), buffers.end());
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> known;
  for (const auto& [name, t] : own) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (!it->second.defined()) {
      mismatched.push_back(fmt::format("{} (undefined in the state dict)", name));
    } else if (it->second.shape() != t.shape()) {
      mismatched.push_back(fmt::format("{} (checkpoint {}, model {})", name, it->second.shape(), t.shape()));
    }
  }
  for (const auto& [name, t] : state)
    if (!known.count(name)) unexpected.push_back(name);
  const bool bad = !mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()));
  EMBER_CHECK(!bad, "load_state_dict: missing keys [{}]; unexpected keys [{}]; shape mismatches [{}]",
              fmt::join(missing, ", "), fmt::join(unexpected, ", "), fmt::join(mismatched, ", "));
  NoGradGuard no_grad;
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it != state.end()) copy_into(t, it->second, "load_state_dict");
  }
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

}  // namespace ember::nn
