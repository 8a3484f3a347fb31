// Collectives on Tensors: every rank calls the same collective, in the same order, with tensors
// of the same shape and dtype (environment.h says how the ranks are started).
//
//   all_reduce(t, ReduceOp::Avg)    t <- the element-wise average of t over the ranks  (in place)
//   broadcast(t, root)              t <- root's t                                      (in place)
//   all_gather(x)                   (W, ...x.shape): every rank's x, by rank
//   reduce_scatter(x, op)           x is (W * k, ...); rank r gets the reduction of rows [r*k, (r+1)*k)
//
// They are dispatched by the tensor's device: MPI for CPU tensors, NCCL for CUDA tensors (on the
// device's Ember stream, so later Ember kernels see the result without a host wait). Every dtype
// is accepted (bfloat16 is added in float32 and rounded after each addition); ReduceOp::Avg needs a floating
// dtype. The *_async forms return at once with a Work; its wait() finishes the collective (the
// division of an average, the copy back into a non-contiguous tensor) and returns the result. Do
// not touch a tensor that a collective still works on. At world size 1 without a launcher, each
// collective returns its answer (the identity) without MPI.
//
// Failures throw ember::Error naming the collective, this rank and MPI's or NCCL's error string;
// a wait that outlives InitOptions::timeout throws too (a dead or diverging rank).
#pragma once

#include <memory>
#include <string_view>

#include "core/tensor.h"

namespace ember::dist {

enum class ReduceOp { Sum, Avg, Max };
std::string_view reduce_op_name(ReduceOp op);

enum class Collective { AllReduce, Broadcast, AllGather, ReduceScatter };
std::string_view collective_name(Collective collective);

// A collective in flight. Copyable handle; waiting twice returns the same result.
class Work {
 public:
  struct State;
  Work() = default;  // a completed collective with no result
  explicit Work(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Whether the communication has completed (without blocking; also lets MPI progress).
  bool is_completed() const;
  // Blocks until completed (throws after the timeout) and returns the collective's result.
  Tensor wait() const;

 private:
  std::shared_ptr<State> state_;
};

[[nodiscard]] Work all_reduce_async(const Tensor& tensor, ReduceOp op);
[[nodiscard]] Work broadcast_async(const Tensor& tensor, int root);
[[nodiscard]] Work all_gather_async(const Tensor& input);
[[nodiscard]] Work reduce_scatter_async(const Tensor& input, ReduceOp op);

// Blocking forms: the _async call followed by wait().
void all_reduce(const Tensor& tensor, ReduceOp op);
void broadcast(const Tensor& tensor, int root);
Tensor all_gather(const Tensor& input);
Tensor reduce_scatter(const Tensor& input, ReduceOp op);

}  // namespace ember::dist
