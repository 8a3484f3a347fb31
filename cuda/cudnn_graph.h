// A small C++ layer over cuDNN's backend (graph) API, enough to describe a fused operation graph
// (matmuls, pointwise and reduction nodes over 4-d tensors), let cuDNN's heuristics pick an engine,
// and run the resulting execution plan. Descriptors are owned (destroyed with their owner); tensors
// are named by integer ids, as the backend API's variant packs name them.
//
// Only compiled when CMake found cuDNN (EMBER_WITH_CUDNN).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cuda/cudnn.h"

namespace ember::cuda {

// Whether EMBER_CUDNN_DEBUG=1: cuDNN's reasons for declining go to stderr.
bool cudnn_debug();

// A "not supported" answer that depends on the machine rather than on the graph: a driver or CUDA
// runtime cuDNN cannot use, a missing run-time prerequisite (NVRTC, which cuDNN's fused attention
// compiles its kernels with) or sub-library. Such an answer may change with the environment, so
// it must never be cached as "no engine for this graph".
bool environment_dependent(cudnnStatus_t status);

// Thrown by try_finalize for an environment-dependent "not supported".
struct CudnnEnvironmentError : Error {
  using Error::Error;
};

// One owned backend descriptor.
class CudnnDescriptor {
 public:
  explicit CudnnDescriptor(cudnnBackendDescriptorType_t type);
  ~CudnnDescriptor();
  CudnnDescriptor(CudnnDescriptor&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(CudnnDescriptor&&) = delete;

  cudnnBackendDescriptor_t get() const { return handle_; }
  // Sets an attribute of `count` values of `type` (throws on failure: a programming error).
  CudnnDescriptor& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, std::int64_t count,
                       const void* values);
  CudnnDescriptor& set_descriptor(cudnnBackendAttributeName_t name, const CudnnDescriptor& value);
  // Finalizes; false when cuDNN answers "not supported" (a graph or engine it does not take);
  // throws CudnnEnvironmentError for an environment-dependent "not supported" and Error for any
  // other failure.
  bool try_finalize();
  void finalize();

 private:
  cudnnBackendDescriptor_t handle_ = nullptr;
};

// A finalized execution plan and everything it was built from.
class CudnnPlan {
 public:
  CudnnPlan(std::vector<CudnnDescriptor> parts, std::int64_t workspace_bytes)
      : parts_(std::move(parts)), workspace_bytes_(workspace_bytes) {}
  std::int64_t workspace_bytes() const { return workspace_bytes_; }
  // Runs the plan on the handle's stream. `pointers[i]` is the address for tensor `ids[i]` (device
  // memory, or host memory for by-value scalars).
  void execute(cudnnHandle_t handle, const std::vector<std::int64_t>& ids, const std::vector<void*>& pointers,
               void* workspace) const;

 private:
  std::vector<CudnnDescriptor> parts_;  // the plan is last; the graph and its nodes stay alive with it
  std::int64_t workspace_bytes_;
};

// Builds an operation graph node by node, then a plan for it.
class CudnnGraphBuilder {
 public:
  struct TensorSpec {
    std::vector<std::int64_t> dims, strides;
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
  };

  // A tensor the caller passes at execution time, under `id` (ids below 1000 are the caller's).
  void real(std::int64_t id, const TensorSpec& spec, bool by_value = false);
  // An intermediate that never reaches memory; returns its id.
  std::int64_t virt(const TensorSpec& spec);
  // Contiguous strides for `dims`.
  static std::vector<std::int64_t> packed(const std::vector<std::int64_t>& dims);

  // Nodes; math in float32. c = a b (batched over the leading dims).
  void matmul(std::int64_t a, std::int64_t b, std::int64_t c);
  // y = mode(x) or mode(x, b), or for BINARY_SELECT y = t ? x : b. GEN_INDEX: y = index along axis.
  // Math in float32 except comparisons, which take CUDNN_DATA_BOOLEAN.
  void pointwise(cudnnPointwiseMode_t mode, std::int64_t x, std::int64_t y, std::int64_t b = -1,
                 std::int64_t t = -1, std::int64_t axis = -1, cudnnDataType_t math = CUDNN_DATA_FLOAT);
  // y views x's elements with y's own dims and strides (how transposes enter a graph).
  void reshape(std::int64_t x, std::int64_t y);
  // Reduces x into y over the dimensions where y has extent 1.
  void reduction(cudnnReduceTensorOp_t op, std::int64_t x, std::int64_t y);

  // The first engine cuDNN's heuristics offer that finalizes for this graph; nullopt if none does
  // (with EMBER_CUDNN_DEBUG=1, cuDNN's reasons go to stderr).
  std::optional<CudnnPlan> build(cudnnHandle_t handle);

 private:
  const CudnnDescriptor& tensor(std::int64_t id) const;
  void add_tensor(std::int64_t id, const TensorSpec& spec, bool is_virtual, bool by_value);
  // Keeps a finalized operation (and the node descriptor it refers to) as the graph's next node.
  void add_operation(CudnnDescriptor op, std::optional<CudnnDescriptor> node = std::nullopt);

  std::vector<CudnnDescriptor> parts_;           // tensors, node descriptors, operations
  std::map<std::int64_t, std::size_t> tensors_;  // id -> index in parts_
  std::vector<std::size_t> operations_;          // indices in parts_
  std::int64_t next_virtual_id_ = 1000;
};

}  // namespace ember::cuda
