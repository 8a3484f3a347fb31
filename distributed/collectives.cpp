// The device-neutral entry points of collectives.h: argument checks, contiguous staging, the
// backend chosen by the tensor's device, and what wait() does once the bytes have arrived
// (an average's division, the copy back into a non-contiguous tensor).
#include "distributed/collectives.h"

#include <array>
#include <functional>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/factory.h"
#include "distributed/backend.h"
#include "distributed/environment.h"
#include "distributed/mpi_runtime.h"
#include "ops/elementwise.h"

namespace ember::dist {

struct Work::State {
  std::unique_ptr<detail::InFlight> in_flight;  // null when nothing was sent (world size 1)
  std::function<Tensor()> finish;                // runs once, after completion
  Tensor result;
  bool finished = false;
};

namespace {

std::array<detail::CollectiveBackend*, kNumDeviceTypes>& backends() {
  static std::array<detail::CollectiveBackend*, kNumDeviceTypes> table{};
  return table;
}

detail::CollectiveBackend& backend_for(Device device, Collective collective) {
  detail::CollectiveBackend* backend = backends()[static_cast<int>(device.type)];
  EMBER_CHECK(backend != nullptr,
              "dist::{} (rank {} of {}): no collective backend for {} tensors in this build of Ember (CUDA "
              "tensors need Ember built with CUDA and NCCL)",
              collective_name(collective), rank(), world_size(), device);
  return *backend;
}

void check_input(const Tensor& tensor, Collective collective) {
  EMBER_CHECK(is_initialized(), "dist::{}: call ember::dist::init() first", collective_name(collective));
  EMBER_CHECK(tensor.defined(), "dist::{} (rank {} of {}): the tensor is undefined", collective_name(collective),
              rank(), world_size());
}

void check_reduce_op(const Tensor& tensor, ReduceOp op, Collective collective) {
  EMBER_CHECK(op != ReduceOp::Avg || tensor.dtype() != kInt64,
              "dist::{} (rank {} of {}): ReduceOp::Avg needs a floating dtype, got int64 (use Sum and divide)",
              collective_name(collective), rank(), world_size());
}

detail::ReduceKind kind_of(ReduceOp op) {
  return op == ReduceOp::Max ? detail::ReduceKind::Max : detail::ReduceKind::Sum;
}

// Communication needs contiguous memory: the tensor itself, or a copy whose values wait() copies back.
Tensor contiguous_staging(const Tensor& tensor) {
  NoGradGuard no_grad;
  return tensor.is_contiguous() ? tensor.detach() : tensor.contiguous();
}

// data /= world size, in data's own dtype (bfloat16 through float32, rounded once).
void divide_by_world_size(const Tensor& data) {
  const Tensor wide = data.dtype() == kBFloat16 ? data.to(kFloat32) : data;
  Tensor(data).copy_(div(wide, static_cast<double>(world_size())));
}

// After MPI or NCCL wrote `data`: the average's division, then the values into `tensor` when data
// was a staging copy; the storage's version is bumped, as any in-place write would.
void finish_in_place(const Tensor& tensor, const Tensor& data, bool average) {
  NoGradGuard no_grad;
  if (average) divide_by_world_size(data);
  if (data.storage() != tensor.storage()) {
    Tensor(tensor.detach()).copy_(data);
  } else {
    tensor.storage()->bump_version();
  }
}

Work completed(Tensor result) {
  auto state = std::make_shared<Work::State>();
  state->result = std::move(result);
  state->finished = true;
  return Work(std::move(state));
}

Work in_flight(std::unique_ptr<detail::InFlight> pending, std::function<Tensor()> finish) {
  auto state = std::make_shared<Work::State>();
  state->in_flight = std::move(pending);
  state->finish = std::move(finish);
  return Work(std::move(state));
}

// World size 1 without a launcher: every collective is answered locally.
bool answered_locally() { return !detail::uses_mpi(); }

}  // namespace

namespace detail {
void register_backend(DeviceType type, CollectiveBackend* backend) { backends()[static_cast<int>(type)] = backend; }
}  // namespace detail

std::string_view reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
  }
  return "unknown";
}

std::string_view collective_name(Collective collective) {
  switch (collective) {
    case Collective::AllReduce: return "all_reduce";
    case Collective::Broadcast: return "broadcast";
    case Collective::AllGather: return "all_gather";
    case Collective::ReduceScatter: return "reduce_scatter";
  }
  return "unknown";
}

bool Work::is_completed() const {
  if (!state_ || state_->finished || !state_->in_flight) return true;
  return state_->in_flight->test();
}

Tensor Work::wait() const {
  if (!state_) return {};
  if (!state_->finished) {
    if (state_->in_flight) state_->in_flight->wait();
    state_->result = state_->finish();
    state_->finished = true;
    state_->in_flight.reset();
    state_->finish = nullptr;
  }
  return state_->result;
}

Work all_reduce_async(const Tensor& tensor, ReduceOp op) {
  check_input(tensor, Collective::AllReduce);
  check_reduce_op(tensor, op, Collective::AllReduce);
  if (answered_locally()) return completed(tensor);
  auto& backend = backend_for(tensor.device(), Collective::AllReduce);
  Tensor data = contiguous_staging(tensor);
  auto pending = backend.all_reduce(data, kind_of(op));
  return in_flight(std::move(pending), [tensor, data, op] {
    finish_in_place(tensor, data, op == ReduceOp::Avg);
    return tensor;
  });
}

Work broadcast_async(const Tensor& tensor, int root) {
  check_input(tensor, Collective::Broadcast);
  EMBER_CHECK(root >= 0 && root < world_size(), "dist::broadcast (rank {} of {}): root {} is not a rank", rank(),
              world_size(), root);
  if (answered_locally()) return completed(tensor);
  auto& backend = backend_for(tensor.device(), Collective::Broadcast);
  Tensor data = contiguous_staging(tensor);
  auto pending = backend.broadcast(data, root);
  return in_flight(std::move(pending), [tensor, data] {
    finish_in_place(tensor, data, false);
    return tensor;
  });
}

Work all_gather_async(const Tensor& input) {
  check_input(input, Collective::AllGather);
  Shape shape = input.shape();
  shape.insert(shape.begin(), world_size());  // (W, ...input.shape)
  Tensor output = empty(shape, TensorOptions(input.dtype(), input.device()));
  Tensor data = contiguous_staging(input);
  if (answered_locally()) {
    NoGradGuard no_grad;
    output.select(0, 0).copy_(data);
    return completed(output);
  }
  auto pending = backend_for(input.device(), Collective::AllGather).all_gather(output, data);
  return in_flight(std::move(pending), [output, data] { return output; });
}

Work reduce_scatter_async(const Tensor& input, ReduceOp op) {
  check_input(input, Collective::ReduceScatter);
  check_reduce_op(input, op, Collective::ReduceScatter);
  const int ranks = world_size();
  EMBER_CHECK(input.dim() >= 1 && input.size(0) % ranks == 0,
              "dist::reduce_scatter (rank {} of {}): the first dimension of the input {} must be a multiple of "
              "the world size {}",
              rank(), ranks, input.shape(), ranks);
  Shape shape = input.shape();
  shape[0] /= ranks;  // (W * k, ...) -> (k, ...)
  Tensor data = contiguous_staging(input);
  if (answered_locally()) {
    NoGradGuard no_grad;
    return completed(data.clone());
  }
  Tensor output = empty(shape, TensorOptions(input.dtype(), input.device()));
  auto pending = backend_for(input.device(), Collective::ReduceScatter).reduce_scatter(output, data, kind_of(op));
  return in_flight(std::move(pending), [output, data, op] {
    if (op == ReduceOp::Avg) {
      NoGradGuard no_grad;
      divide_by_world_size(output);
    }
    return output;
  });
}

void all_reduce(const Tensor& tensor, ReduceOp op) { all_reduce_async(tensor, op).wait(); }
void broadcast(const Tensor& tensor, int root) { broadcast_async(tensor, root).wait(); }
Tensor all_gather(const Tensor& input) { return all_gather_async(input).wait(); }
Tensor reduce_scatter(const Tensor& input, ReduceOp op) { return reduce_scatter_async(input, op).wait(); }

}  // namespace ember::dist
