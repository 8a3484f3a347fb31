// Module bookkeeping: registration, traversal, modes, device moves and state dicts.
#include "nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <typeinfo>

#include "autograd/grad_mode.h"
#include "ops/copy.h"

namespace ember::nn {

namespace {

// The dynamic type of a module, e.g. "ember::nn::Linear", for error messages: a module does not
// know the path it will be registered under when it registers its own members.
std::string type_name(const Module& module) {
  const char* mangled = typeid(module).name();
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && demangled ? demangled.get() : mangled;
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

void Module::check_new_name(const std::string& name, const char* kind) const {
  EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos,
              "Module ({}): {} name '{}' must be non-empty and contain no '.'", type_name(*this), kind, name);
  const auto named = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
  };
  const char* taken = named(parameters_) ? "parameter" : named(buffers_) ? "buffer" : named(children_) ? "child module" : nullptr;
  EMBER_CHECK(taken == nullptr, "Module ({}): cannot register a {} named '{}': it already has a {} of that name",
              type_name(*this), kind, name, taken ? taken : "");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "parameter");
  EMBER_CHECK(tensor.defined(), "Module ({}): parameter '{}' is undefined", type_name(*this), name);
  Tensor leaf = tensor.is_leaf() ? tensor : tensor.detach();
  leaf.requires_grad_(requires_grad);
  parameters_.emplace_back(name, leaf);
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "buffer");
  EMBER_CHECK(tensor.defined(), "Module ({}): buffer '{}' is undefined", type_name(*this), name);
  buffers_.emplace_back(name, tensor.detach());
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "child module");
  EMBER_CHECK(module != nullptr, "Module ({}): child module '{}' is null", type_name(*this), name);
  EMBER_CHECK(module.get() != this, "Module ({}): cannot register a module as its own child '{}'",
              type_name(*this), name);
  children_.emplace_back(name, std::move(module));
}

// What a traversal has already reported: a tied tensor or a shared module is listed once.
struct Module::Visited {
  std::set<const Module*> modules;
  std::set<const TensorImpl*> tensors;
};

void Module::collect(const std::string& prefix, bool recurse, bool buffers, Visited& visited,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  if (!visited.modules.insert(this).second) return;
  for (const auto& [name, t] : buffers ? buffers_ : parameters_)
    if (visited.tensors.insert(t.impl()).second) out.emplace_back(prefix + name, t);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, buffers, visited, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  Visited visited;
  collect("", recurse, false, visited, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  Visited visited;
  collect("", recurse, true, visited, out);
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
