// cuDNN backend graph layer (see cudnn_graph.h).
#include "cuda/cudnn_graph.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

namespace ember::cuda {

CudnnDescriptor::CudnnDescriptor(cudnnBackendDescriptorType_t type) {
  EMBER_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &handle_));
}

CudnnDescriptor::~CudnnDescriptor() {
  if (handle_) cudnnBackendDestroyDescriptor(handle_);
}

CudnnDescriptor& CudnnDescriptor::set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                                      std::int64_t count, const void* values) {
  EMBER_CUDNN_CHECK(cudnnBackendSetAttribute(handle_, name, type, count, values));
  return *this;
}

CudnnDescriptor& CudnnDescriptor::set_descriptor(cudnnBackendAttributeName_t name, const CudnnDescriptor& value) {
  cudnnBackendDescriptor_t raw = value.get();
  return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw);
}

bool cudnn_debug() {
  static const bool enabled = [] {
    const char* value = std::getenv("EMBER_CUDNN_DEBUG");
    return value && std::string(value) == "1";
  }();
  return enabled;
}

namespace {
// cuDNN's own account of the last failure on this thread.
std::string last_cudnn_error() {
  char reason[512] = {};
  cudnnGetLastErrorString(reason, sizeof reason);
  return reason;
}
}  // namespace

bool environment_dependent(cudnnStatus_t status) {
  return status == CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER ||
         status == CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART ||
         status == CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING ||
         status == CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE;
}

bool CudnnDescriptor::try_finalize() {
  const cudnnStatus_t status = cudnnBackendFinalize(handle_);
  if (status == CUDNN_STATUS_SUCCESS) return true;
  const std::string reason = last_cudnn_error();
  if (environment_dependent(status))
    throw CudnnEnvironmentError(fmt::format("cuDNN cannot run here: {} ({}): {}", cudnnGetErrorString(status),
                                            static_cast<int>(status), reason));
  if (CUDNN_STATUS_CATEGORY(status) != CUDNN_STATUS_NOT_SUPPORTED)
    fail("cuDNN error in cudnnBackendFinalize: {} ({}): {}", cudnnGetErrorString(status), static_cast<int>(status),
         reason);
  if (cudnn_debug()) std::fprintf(stderr, "ember: cuDNN: not supported (%d): %s\n", static_cast<int>(status), reason.c_str());
  return false;
}

void CudnnDescriptor::finalize() {
  const cudnnStatus_t status = cudnnBackendFinalize(handle_);
  if (status != CUDNN_STATUS_SUCCESS)
    fail("cuDNN error in cudnnBackendFinalize: {} ({}): {}", cudnnGetErrorString(status), static_cast<int>(status),
         last_cudnn_error());
}

void CudnnPlan::execute(cudnnHandle_t handle, const std::vector<std::int64_t>& ids,
                        const std::vector<void*>& pointers, void* workspace) const {
  EMBER_CHECK(ids.size() == pointers.size(), "cuDNN plan: {} tensor ids but {} pointers", ids.size(),
              pointers.size());
  CudnnDescriptor pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<std::int64_t>(ids.size()), ids.data())
      .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, static_cast<std::int64_t>(pointers.size()),
           pointers.data())
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  pack.finalize();
  EMBER_CUDNN_CHECK(cudnnBackendExecute(handle, parts_.back().get(), pack.get()));
}

std::vector<std::int64_t> CudnnGraphBuilder::packed(const std::vector<std::int64_t>& dims) {
  std::vector<std::int64_t> strides(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

void CudnnGraphBuilder::add_tensor(std::int64_t id, const TensorSpec& spec, bool is_virtual, bool by_value) {
  EMBER_CHECK(!tensors_.contains(id), "cuDNN graph: tensor id {} used twice", id);
  EMBER_CHECK(spec.dims.size() == spec.strides.size(), "cuDNN graph: tensor {} has {} dims but {} strides", id,
              spec.dims.size(), spec.strides.size());
  CudnnDescriptor t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const std::int64_t rank = static_cast<std::int64_t>(spec.dims.size());
  const std::int64_t alignment = 16;
  t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &id)
      .set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &spec.type)
      .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment)
      .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, rank, spec.dims.data())
      .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, rank, spec.strides.data());
  if (is_virtual) t.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual);
  if (by_value) t.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value);
  t.finalize();
  tensors_[id] = parts_.size();
  parts_.push_back(std::move(t));
}

void CudnnGraphBuilder::real(std::int64_t id, const TensorSpec& spec, bool by_value) {
  EMBER_CHECK(id >= 0 && id < 1000, "cuDNN graph: caller tensor ids are 0..999, got {}", id);
  add_tensor(id, spec, false, by_value);
}

std::int64_t CudnnGraphBuilder::virt(const TensorSpec& spec) {
  const std::int64_t id = next_virtual_id_++;
  add_tensor(id, spec, true, false);
  return id;
}

const CudnnDescriptor& CudnnGraphBuilder::tensor(std::int64_t id) const {
  auto it = tensors_.find(id);
  EMBER_CHECK(it != tensors_.end(), "cuDNN graph: no tensor with id {}", id);
  return parts_[it->second];
}

void CudnnGraphBuilder::add_operation(CudnnDescriptor op, std::optional<CudnnDescriptor> node) {
  if (node) parts_.push_back(std::move(*node));
  operations_.push_back(parts_.size());
  parts_.push_back(std::move(op));
}

void CudnnGraphBuilder::matmul(std::int64_t a, std::int64_t b, std::int64_t c) {
  CudnnDescriptor desc(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
  const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  desc.set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute).finalize();
  CudnnDescriptor op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
  op.set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_ADESC, tensor(a))
      .set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_BDESC, tensor(b))
      .set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_CDESC, tensor(c))
      .set_descriptor(CUDNN_ATTR_OPERATION_MATMUL_DESC, desc)
      .finalize();
  add_operation(std::move(op), std::move(desc));
}

void CudnnGraphBuilder::pointwise(cudnnPointwiseMode_t mode, std::int64_t x, std::int64_t y, std::int64_t b,
                                  std::int64_t t, std::int64_t axis, cudnnDataType_t math) {
  CudnnDescriptor desc(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  desc.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode)
      .set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &math);
  if (axis >= 0) desc.set(CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, 1, &axis);
  desc.finalize();
  CudnnDescriptor op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  op.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, desc)
      .set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, tensor(x));
  if (b >= 0) op.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, tensor(b));
  if (t >= 0) op.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, tensor(t));
  const float one = 1.0f;
  op.set_descriptor(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, tensor(y))
      .set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_TYPE_FLOAT, 1, &one)
      .set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, CUDNN_TYPE_FLOAT, 1, &one)
      .finalize();
  add_operation(std::move(op), std::move(desc));
}

void CudnnGraphBuilder::reduction(cudnnReduceTensorOp_t op_type, std::int64_t x, std::int64_t y) {
  CudnnDescriptor desc(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
  const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  desc.set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &op_type)
      .set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute)
      .finalize();
  CudnnDescriptor op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
  op.set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, tensor(x))
      .set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, tensor(y))
      .set_descriptor(CUDNN_ATTR_OPERATION_REDUCTION_DESC, desc)
      .finalize();
  add_operation(std::move(op), std::move(desc));
}

void CudnnGraphBuilder::reshape(std::int64_t x, std::int64_t y) {
  CudnnDescriptor op(CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR);
  op.set_descriptor(CUDNN_ATTR_OPERATION_RESHAPE_XDESC, tensor(x))
      .set_descriptor(CUDNN_ATTR_OPERATION_RESHAPE_YDESC, tensor(y))
      .finalize();
  add_operation(std::move(op));
}

std::optional<CudnnPlan> CudnnGraphBuilder::build(cudnnHandle_t handle) {
  std::vector<cudnnBackendDescriptor_t> ops;
  for (std::size_t index : operations_) ops.push_back(parts_[index].get());
  CudnnDescriptor graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<std::int64_t>(ops.size()),
            ops.data())
      .set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  if (!graph.try_finalize()) return std::nullopt;

  CudnnDescriptor heuristics(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  heuristics.set_descriptor(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph)
      .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  if (!heuristics.try_finalize()) return std::nullopt;
  std::int64_t count = 0;
  if (cudnnBackendGetAttribute(heuristics.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                               &count, nullptr) != CUDNN_STATUS_SUCCESS ||
      count <= 0)
    return std::nullopt;
  std::vector<CudnnDescriptor> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (std::int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(configs.back().get());
  }
  std::int64_t returned = 0;
  if (cudnnBackendGetAttribute(heuristics.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                               &returned, raw.data()) != CUDNN_STATUS_SUCCESS)
    return std::nullopt;

  // An engine that fails for another reason than "not supported" (out of memory, a failed
  // runtime compilation) is skipped too; that error is raised, with its type, only if no engine
  // finalizes.
  std::exception_ptr failure;
  for (std::int64_t i = 0; i < returned; ++i) {
    CudnnDescriptor plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle)
        .set_descriptor(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[i]);
    try {
      if (!plan.try_finalize()) continue;
    } catch (const Error&) {
      failure = std::current_exception();
      continue;
    }
    std::int64_t workspace = 0, n = 0;
    EMBER_CUDNN_CHECK(cudnnBackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64,
                                               1, &n, &workspace));
    std::vector<CudnnDescriptor> parts = std::move(parts_);
    parts.push_back(std::move(graph));
    parts.push_back(std::move(heuristics));
    for (auto& config : configs) parts.push_back(std::move(config));
    parts.push_back(std::move(plan));
    return CudnnPlan(std::move(parts), workspace);
  }
  if (failure) std::rethrow_exception(failure);
  return std::nullopt;
}

}  // namespace ember::cuda
