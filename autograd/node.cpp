// Node, FunctionNode, AccumulateGrad and the recording helper every differentiable op calls.
#include "autograd/node.h"

#include <array>
#include <atomic>
#include <functional>
#include <mutex>

#include "autograd/anomaly_mode.h"
#include "autograd/backward_hooks.h"
#include "autograd/grad_mode.h"
#include "ops/elementwise.h"

namespace ember::autograd {

namespace {
std::atomic<std::uint64_t> next_sequence_nr{0};

// Locks for leaves shared between threads, striped by the leaf's address: a mutex per tensor would
// cost every tensor 40 bytes, and two leaves rarely contend for one stripe.
std::mutex& leaf_lock(const TensorImpl* leaf) {
  static std::array<std::mutex, 64> stripes;
  return stripes[std::hash<const TensorImpl*>{}(leaf) % stripes.size()];
}
}  // namespace

Node::Node(std::string name, std::vector<std::shared_ptr<Node>> next_edges)
    : name_(std::move(name)), next_edges_(std::move(next_edges)), sequence_nr_(next_sequence_nr++) {}

Node::~Node() {
  // Unlink the chain behind this node one node at a time instead of by recursive destructors.
  std::vector<std::shared_ptr<Node>> stack = std::move(next_edges_);
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    if (node && node.use_count() == 1) {
      for (auto& next : node->next_edges_) stack.push_back(std::move(next));
      node->next_edges_.clear();
    }
  }
}

FunctionNode::FunctionNode(std::string name, std::vector<std::shared_ptr<Node>> next_edges,
                           BackwardFn fn, std::vector<SavedVersion> saved)
    : Node(std::move(name), std::move(next_edges)), backward_(std::move(fn)), saved_(std::move(saved)) {
  needs_grad_.reserve(this->next_edges().size());
  for (const auto& edge : this->next_edges()) needs_grad_.push_back(edge != nullptr);
}

std::vector<Tensor> FunctionNode::apply(const Tensor& grad_output) {
  EMBER_CHECK(backward_ != nullptr,
              "backward: trying to backward through the graph a second time through {} (its saved "
              "tensors were freed); pass retain_graph=true to the first backward",
              name());
  for (const SavedVersion& s : saved_) {
    const std::uint64_t now = s.tensor.version();
    EMBER_CHECK(now == s.version,
                "backward of {}: a tensor of shape {} that it saved for backward has been modified by "
                "an in-place operation: it is at version {}; expected version {}. Clone it before "
                "changing it in place, or change it only after backward",
                name(), s.tensor.shape(), now, s.version);
  }
  return backward_(grad_output, needs_grad_);
}

AccumulateGrad::AccumulateGrad(std::weak_ptr<TensorImpl> leaf)
    : Node("AccumulateGrad", {}), leaf_(std::move(leaf)) {}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  auto leaf = leaf_.lock();
  if (!leaf) return {};  // the leaf died before backward: nothing to accumulate into
  EMBER_CHECK(grad_output.shape() == leaf->shape,
              "backward: gradient of shape {} does not match leaf of shape {}",
              grad_output.shape(), leaf->shape);
  {
    std::lock_guard lock(leaf_lock(leaf.get()));
    if (!leaf->grad) {
      // Adopt the gradient only if nothing else can see its storage; users may modify .grad in place.
      bool exclusive = grad_output.is_contiguous() && grad_output.storage().use_count() == 1 &&
                       grad_output.impl_ptr().use_count() == 1;
      Tensor g = exclusive ? grad_output.detach() : grad_output.clone();
      leaf->grad = g.impl_ptr();
    } else {
      Tensor(leaf->grad).add_(grad_output);
    }
  }
  run_grad_ready_hooks(leaf);  // outside the lock: a hook may read .grad
  return {};
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined()) return nullptr;
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  if (!impl->requires_grad) return nullptr;
  std::lock_guard lock(leaf_lock(impl));
  auto acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return acc;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// Not through the vector overload: building that vector was a heap allocation per op call, under
// NoGradGuard too (generation).
bool any_requires_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(std::string name, Tensor result, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved) {
  if (!any_requires_grad(inputs)) return result;
  if (is_detect_anomaly_enabled()) check_forward_anomaly(name, result, inputs);
  std::vector<std::shared_ptr<Node>> edges;
  edges.reserve(inputs.size());
  for (const auto& t : inputs) edges.push_back(gradient_edge(t));
  std::vector<SavedVersion> versions;
  versions.reserve(saved.size());
  for (const auto& t : saved)
    if (t.defined()) versions.push_back({t, t.version()});
  result.impl()->grad_fn = std::make_shared<FunctionNode>(std::move(name), std::move(edges),
                                                          std::move(fn), std::move(versions));
  return result;
}

}  // namespace ember::autograd
