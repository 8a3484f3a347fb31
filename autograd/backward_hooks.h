// Hooks into a backward pass, for code that must act while backward runs (data-parallel training
// starts reducing a bucket of gradients as soon as its last gradient is ready, so that
// communication overlaps the rest of backward).
//
// A gradient-ready hook belongs to a leaf that requires grad (a parameter). It runs right after
// the leaf's AccumulateGrad node has added this pass's gradient into .grad, so leaf.grad() then
// holds the finished gradient (the sum over every use of the leaf in the graph, plus whatever
// .grad held before). It runs once per backward pass that reaches the leaf, in the thread running
// backward, with grad mode off. A leaf that backward does not reach gets no call.
//
// An end-of-backward callback, queued from inside a backward pass (typically by a hook), runs
// once the whole graph has been traversed, before backward() returns: the place to wait for the
// communication the hooks started. Callbacks run in the order they were queued.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember::autograd {

using GradReadyHook = std::function<void(const Tensor& leaf)>;

struct GradReadyHookHandle {
  std::uint64_t id = 0;
};

// The hooks of one leaf (TensorImpl::grad_ready_hooks).
struct GradReadyHooks {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, GradReadyHook>> hooks;
};

// Adds a hook to `leaf`, which must be a leaf that requires grad; keep the handle to remove it.
GradReadyHookHandle add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook);
// Removes a hook; a handle already removed is ignored.
void remove_grad_ready_hook(const Tensor& leaf, GradReadyHookHandle handle);
// Runs the leaf's hooks (called by AccumulateGrad).
void run_grad_ready_hooks(const std::shared_ptr<TensorImpl>& leaf);

// Queues `callback` to run when the backward pass running in this thread ends. Throws ember::Error
// outside a backward pass.
void queue_end_of_backward_callback(std::function<void()> callback);

}  // namespace ember::autograd
