// Gradient-ready hooks on leaves (backward_hooks.h). The end-of-backward queue lives in engine.cpp,
// beside the pass it belongs to.
#include "autograd/backward_hooks.h"

#include <atomic>

namespace ember::autograd {

namespace {
std::atomic<std::uint64_t> next_hook_id{1};
std::mutex hooks_creation_lock;  // guards the creation of a leaf's hook list
}  // namespace

GradReadyHookHandle add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook) {
  EMBER_CHECK(leaf.defined() && leaf.is_leaf() && leaf.requires_grad(),
              "add_grad_ready_hook: expected a leaf tensor that requires grad (a parameter), got {}",
              !leaf.defined() ? "an undefined tensor"
                              : (leaf.is_leaf() ? "a leaf that does not require grad" : "a non-leaf tensor"));
  EMBER_CHECK(hook != nullptr, "add_grad_ready_hook: the hook is empty");
  std::shared_ptr<GradReadyHooks> hooks;
  {
    std::lock_guard lock(hooks_creation_lock);
    if (!leaf.impl()->grad_ready_hooks) leaf.impl()->grad_ready_hooks = std::make_shared<GradReadyHooks>();
    hooks = leaf.impl()->grad_ready_hooks;
  }
  const std::uint64_t id = next_hook_id++;
  std::lock_guard lock(hooks->mutex);
  hooks->hooks.emplace_back(id, std::move(hook));
  return {id};
}

void remove_grad_ready_hook(const Tensor& leaf, GradReadyHookHandle handle) {
  if (!leaf.defined()) return;
  std::shared_ptr<GradReadyHooks> hooks;
  {
    std::lock_guard lock(hooks_creation_lock);
    hooks = leaf.impl()->grad_ready_hooks;
  }
  if (!hooks) return;
  std::lock_guard lock(hooks->mutex);
  std::erase_if(hooks->hooks, [&](const auto& entry) { return entry.first == handle.id; });
}

void run_grad_ready_hooks(const std::shared_ptr<TensorImpl>& leaf) {
  std::shared_ptr<GradReadyHooks> hooks;
  {
    std::lock_guard lock(hooks_creation_lock);
    hooks = leaf->grad_ready_hooks;
  }
  if (!hooks) return;
  std::vector<GradReadyHook> to_run;  // copied, so that a hook may add or remove hooks
  {
    std::lock_guard lock(hooks->mutex);
    for (const auto& entry : hooks->hooks) to_run.push_back(entry.second);
  }
  const Tensor leaf_tensor(leaf);
  for (const auto& hook : to_run) hook(leaf_tensor);
}

}  // namespace ember::autograd
