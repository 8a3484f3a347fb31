// The backward graph.
//
// Every differentiable op records, when grad mode is on and one of its inputs requires grad, a Node
// in the result's grad_fn. A Node knows how to turn the gradient of its op's output into gradients
// of the op's inputs (apply), and where each input's gradient goes next (next_edges, in input
// order). Every Ember op has exactly one output, so an edge is simply the Node that produced the
// input, or null when that input needs no gradient. Leaves that require grad end in an
// AccumulateGrad node, which adds the arriving gradient into the leaf's .grad.
//
//   y = exp(a * b)        ExpNode --> MulNode --> AccumulateGrad(a)
//                                          \--> AccumulateGrad(b)
//
// Most ops use FunctionNode: the op's code passes a closure that captures exactly what backward
// needs (saved tensors, shapes) - like micrograd's _backward, with C++ types. After a backward pass
// the engine calls release() to free those captures unless the graph is retained; applying a
// released node throws. Closures save tensors detached (`x.detach()`), so saved data never keeps
// the graph behind it alive. The engine lives in engine.cpp.
//
// In-place safety: an op passes the tensors its closure saved to record(), which notes each one's
// storage version (core/storage.h). If an in-place op changes one of them before backward, the
// node refuses to run and names itself, the tensor's shape and both versions, instead of
// computing a silently wrong gradient. The cost is one integer compare per saved tensor.
//
// Threads: graphs built in different threads may share leaves; a leaf's accumulator is created
// once and its .grad is summed under a lock, so two threads may backward into one leaf at once.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::autograd {

class Node {
 public:
  Node(std::string name, std::vector<std::shared_ptr<Node>> next_edges);
  virtual ~Node();  // iterative, so freeing a 100,000-node chain cannot overflow the stack
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients for each input, in next_edges order; undefined where no gradient flows.
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Frees what was saved for backward.
  virtual void release() {}

  const std::string& name() const { return name_; }
  const std::vector<std::shared_ptr<Node>>& next_edges() const { return next_edges_; }
  // Creation order; later nodes run first when several are ready.
  std::uint64_t sequence_nr() const { return sequence_nr_; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<Node>> next_edges_;
  std::uint64_t sequence_nr_;
};

// needs_grad[i] says whether input i wants a gradient, so backward can skip work.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_output, const std::vector<bool>& needs_grad)>;

// A tensor saved for backward (the handle the closure holds too) and its storage's version then.
struct SavedVersion {
  Tensor tensor;
  std::uint64_t version = 0;
};

class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, std::vector<std::shared_ptr<Node>> next_edges, BackwardFn fn,
               std::vector<SavedVersion> saved);
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  void release() override {
    backward_ = nullptr;
    saved_.clear();
  }

 private:
  BackwardFn backward_;
  std::vector<bool> needs_grad_;
  std::vector<SavedVersion> saved_;
};

class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf);
  std::vector<Tensor> apply(const Tensor& grad_output) override;

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// The node a gradient for `t` should flow into: its grad_fn, its leaf accumulator, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// True when grad mode is on and any defined input requires grad.
bool any_requires_grad(std::initializer_list<Tensor> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attaches a FunctionNode named `name` to `result` when any input requires grad (and grad mode is
// on); returns result either way. Inputs may be undefined tensors (optional arguments). `saved`
// lists every tensor the closure captured for backward (undefined ones are ignored), so that an
// in-place change to any of them is caught before backward uses it.
Tensor record(std::string name, Tensor result, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved = {});

// Runs the backward pass from roots with the given output gradients (see engine.cpp).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_outputs,
                  bool retain_graph);

}  // namespace ember::autograd
