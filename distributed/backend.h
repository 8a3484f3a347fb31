// The interface each transport implements (private to distributed/): MPI for CPU tensors
// (mpi_backend.cpp), NCCL for CUDA tensors (nccl_backend.cpp). collectives.cpp checks the
// arguments, makes the tensors contiguous and turns Avg into Sum plus a division, so a backend
// only moves contiguous memory: `data` is reduced or overwritten in place; `output` and `input`
// do not overlap.
#pragma once

#include <memory>

#include "core/device.h"
#include "core/tensor.h"
#include "distributed/collectives.h"

namespace ember::dist::detail {

// Communication a backend has started.
class InFlight {
 public:
  virtual ~InFlight() = default;  // a backend's destructor waits for what is still in flight
  virtual bool test() = 0;        // true once completed
  virtual void wait() = 0;        // throws after the init() timeout
};

// Reductions a backend is asked for: Avg arrives as Sum.
enum class ReduceKind { Sum, Max };

class CollectiveBackend {
 public:
  virtual ~CollectiveBackend() = default;
  virtual std::unique_ptr<InFlight> all_reduce(const Tensor& data, ReduceKind op) = 0;
  virtual std::unique_ptr<InFlight> broadcast(const Tensor& data, int root) = 0;
  // output: (W * input.numel()) elements, by rank.
  virtual std::unique_ptr<InFlight> all_gather(const Tensor& output, const Tensor& input) = 0;
  // input: (W * output.numel()) elements; rank r's output reduces block r of every rank's input.
  virtual std::unique_ptr<InFlight> reduce_scatter(const Tensor& output, const Tensor& input, ReduceKind op) = 0;
};

// Installs the backend of a device type (a backend calls it at static initialisation).
void register_backend(DeviceType type, CollectiveBackend* backend);

struct BackendRegistration {
  BackendRegistration(DeviceType type, CollectiveBackend* backend) { register_backend(type, backend); }
};

}  // namespace ember::dist::detail
