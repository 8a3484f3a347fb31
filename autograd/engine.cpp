// The backward engine: an iterative topological traversal of the graph.
//
// 1. Walk the graph from the roots with an explicit stack (no recursion, so a 10,000-op chain is
//    fine) and count, for each node, how many edges point into it.
// 2. Starting from the roots, run a node once all its dependents have sent their gradient
//    (Kahn's algorithm; among ready nodes, the most recently created first). Gradients arriving
//    at a node from several paths are summed before it runs.
// 3. Unless retain_graph, release each node's saved tensors right after it runs.
// All of this runs with grad mode off: backward formulas do not build graphs of their own.
// 4. Run the end-of-backward callbacks queued during the pass (backward_hooks.h), in order.
// In anomaly mode (anomaly_mode.h) the seed gradients and every node's results are checked for
// NaN/Inf, so the first node to produce one is named.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/anomaly_mode.h"
#include "autograd/backward_hooks.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/elementwise.h"

namespace ember::autograd {

namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

std::unordered_map<Node*, int> count_dependencies(const std::vector<Node*>& roots) {
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen(roots.begin(), roots.end());
  std::vector<Node*> stack(roots.begin(), roots.end());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& next : node->next_edges()) {
      if (!next) continue;
      ++deps[next.get()];
      if (seen.insert(next.get()).second) stack.push_back(next.get());
    }
  }
  return deps;
}

// The callbacks queued by the backward pass running in this thread; null outside one. A pass nested
// in another (a hook calling backward) has its own queue.
thread_local std::vector<std::function<void()>>* end_of_backward_callbacks = nullptr;

class CallbackQueueScope {
 public:
  CallbackQueueScope() : outer_(end_of_backward_callbacks) { end_of_backward_callbacks = &queue_; }
  ~CallbackQueueScope() { end_of_backward_callbacks = outer_; }
  CallbackQueueScope(const CallbackQueueScope&) = delete;
  CallbackQueueScope& operator=(const CallbackQueueScope&) = delete;
  // Runs the queue until empty (a callback may queue another).
  void run() {
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      auto callback = std::move(queue_[i]);
      callback();
    }
    queue_.clear();
  }

 private:
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>>* outer_;
};

}  // namespace

void queue_end_of_backward_callback(std::function<void()> callback) {
  EMBER_CHECK(end_of_backward_callbacks != nullptr,
              "queue_end_of_backward_callback: called outside a backward pass (only hooks that run during "
              "backward may queue one)");
  end_of_backward_callbacks->push_back(std::move(callback));
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_outputs,
                  bool retain_graph) {
  NoGradGuard no_grad;
  CallbackQueueScope callbacks;
  const bool detect_anomaly = is_detect_anomaly_enabled();
  if (detect_anomaly) check_backward_seed(grad_outputs);
  std::vector<Node*> root_nodes;
  std::unordered_map<Node*, Tensor> pending;  // gradient summed so far for each node
  std::vector<std::shared_ptr<Node>> keep_alive;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    auto node = gradient_edge(roots[i]);
    EMBER_CHECK(node != nullptr,
                "backward: tensor of shape {} does not require grad and has no grad_fn",
                roots[i].shape());
    keep_alive.push_back(node);
    Tensor& slot = pending[node.get()];
    slot = slot.defined() ? add(slot, grad_outputs[i]) : grad_outputs[i];
    root_nodes.push_back(node.get());
  }

  auto deps = count_dependencies(root_nodes);
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (Node* node : std::unordered_set<Node*>(root_nodes.begin(), root_nodes.end()))
    if (deps[node] == 0) ready.push(node);

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Tensor grad = std::move(pending[node]);
    pending.erase(node);
    std::vector<Tensor> input_grads;
    if (grad.defined()) input_grads = node->apply(grad);
    if (detect_anomaly) check_backward_anomaly(node->name(), input_grads);
    if (!retain_graph) node->release();
    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      Node* next = edges[i].get();
      if (!next) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        Tensor& slot = pending[next];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--deps[next] == 0) ready.push(next);
    }
  }
  callbacks.run();
}

}  // namespace ember::autograd
