// The NCCL backend: collectives on CUDA tensors, queued on the tensor's device's Ember stream
// (cuda/context.h), so Ember's later kernels on that stream see the result in order.
//
// Compiled when Ember is built with CUDA and NCCL is found. One NCCL communicator per device,
// created by the first collective on that device: rank 0 asks NCCL for a unique id and broadcasts
// it over MPI (the bootstrap llm.c and torch.distributed use), then every rank joins with
// ncclCommInitRank. A collective records a CUDA event after its NCCL call; test() queries it and
// NCCL's asynchronous error, wait() polls both until the init() timeout and then aborts the
// communicator, so a dead peer ends in an ember::Error instead of a hang.
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <array>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "cuda/context.h"
#include "distributed/backend.h"
#include "distributed/environment.h"
#include "distributed/mpi_runtime.h"

namespace ember::dist::detail {

namespace {

constexpr int kMaxDevices = 64;

void check_nccl(ncclResult_t status, std::string_view what, std::string_view call) {
  if (status == ncclSuccess) return;
  fail("dist::{} (rank {} of {}): {} failed: {} (NCCL error {})", what, rank(), world_size(), call,
       ncclGetErrorString(status), static_cast<int>(status));
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::BFloat16: return ncclBfloat16;
  }
  fail("dist: no NCCL type for dtype {}", dtype_name(dtype));
}

ncclRedOp_t nccl_op(ReduceKind op) { return op == ReduceKind::Sum ? ncclSum : ncclMax; }

// The communicator of one device, created on first use with a unique id broadcast from rank 0.
ncclComm_t communicator_for(Device device, std::string_view what) {
  static std::array<ncclComm_t, kMaxDevices> comms{};
  EMBER_CHECK(device.index >= 0 && device.index < kMaxDevices, "dist::{}: CUDA device index {} out of range", what,
              device.index);
  ncclComm_t& comm = comms[device.index];
  if (comm != nullptr) return comm;
  ncclUniqueId id{};
  if (rank() == 0) check_nccl(ncclGetUniqueId(&id), what, "ncclGetUniqueId");
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard lock(mpi_lock());
    check_mpi(MPI_Ibcast(&id, sizeof(id), MPI_BYTE, 0, communicator(), &request), what,
              "MPI_Ibcast of the NCCL unique id");
  }
  wait_for(request, what);
  EMBER_CUDA_CHECK(cudaSetDevice(device.index));
  check_nccl(ncclCommInitRank(&comm, world_size(), id, rank()), what, "ncclCommInitRank");
  at_finalize([&comm] {
    if (comm != nullptr) ncclCommDestroy(comm);
    comm = nullptr;
  });
  return comm;
}

class NcclInFlight final : public InFlight {
 public:
  NcclInFlight(std::string_view what, ncclComm_t comm, cudaStream_t stream) : what_(what), comm_(comm) {
    EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    EMBER_CUDA_CHECK(cudaEventRecord(done_, stream));
  }
  ~NcclInFlight() override {
    // The tensors stay in use by the stream until done_; Ember's allocator reuses freed blocks in
    // stream order, so nothing needs to wait here.
    cudaEventDestroy(done_);
  }
  bool test() override {
    ncclResult_t async_error = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(comm_, &async_error), what_, "ncclCommGetAsyncError");
    check_nccl(async_error, what_, "the NCCL collective");
    const cudaError_t status = cudaEventQuery(done_);
    if (status == cudaErrorNotReady) return false;
    EMBER_CUDA_CHECK(status);
    return true;
  }
  void wait() override {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout();
    while (!test()) {
      if (Clock::now() >= deadline) {
        ncclCommAbort(comm_);
        fail("dist::{} (rank {} of {}): NCCL collective not finished after {} s: a rank has died, hangs, or "
             "did not call the same collective; the NCCL communicator was aborted",
             what_, rank(), world_size(), timeout().count());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  std::string_view what_;
  ncclComm_t comm_;
  cudaEvent_t done_ = nullptr;
};

class NcclBackend final : public CollectiveBackend {
 public:
  std::unique_ptr<InFlight> all_reduce(const Tensor& data, ReduceKind op) override {
    auto [comm, stream] = prepare(data.device(), "all_reduce");
    check_nccl(ncclAllReduce(data.raw_data(), data.raw_data(), static_cast<size_t>(data.numel()),
                             nccl_type(data.dtype()), nccl_op(op), comm, stream),
               "all_reduce", "ncclAllReduce");
    return std::make_unique<NcclInFlight>("all_reduce", comm, stream);
  }

  std::unique_ptr<InFlight> broadcast(const Tensor& data, int root) override {
    auto [comm, stream] = prepare(data.device(), "broadcast");
    check_nccl(ncclBroadcast(data.raw_data(), data.raw_data(), static_cast<size_t>(data.numel()),
                             nccl_type(data.dtype()), root, comm, stream),
               "broadcast", "ncclBroadcast");
    return std::make_unique<NcclInFlight>("broadcast", comm, stream);
  }

  std::unique_ptr<InFlight> all_gather(const Tensor& output, const Tensor& input) override {
    auto [comm, stream] = prepare(input.device(), "all_gather");
    check_nccl(ncclAllGather(input.raw_data(), output.raw_data(), static_cast<size_t>(input.numel()),
                             nccl_type(input.dtype()), comm, stream),
               "all_gather", "ncclAllGather");
    return std::make_unique<NcclInFlight>("all_gather", comm, stream);
  }

  std::unique_ptr<InFlight> reduce_scatter(const Tensor& output, const Tensor& input, ReduceKind op) override {
    auto [comm, stream] = prepare(input.device(), "reduce_scatter");
    check_nccl(ncclReduceScatter(input.raw_data(), output.raw_data(), static_cast<size_t>(output.numel()),
                                 nccl_type(input.dtype()), nccl_op(op), comm, stream),
               "reduce_scatter", "ncclReduceScatter");
    return std::make_unique<NcclInFlight>("reduce_scatter", comm, stream);
  }

 private:
  struct Target {
    ncclComm_t comm;
    cudaStream_t stream;
  };
  static Target prepare(Device device, std::string_view what) {
    ncclComm_t comm = communicator_for(device, what);
    return {comm, cuda::launch_stream(device)};
  }
};

NcclBackend nccl_backend;
const BackendRegistration registration(DeviceType::CUDA, &nccl_backend);

}  // namespace

}  // namespace ember::dist::detail
