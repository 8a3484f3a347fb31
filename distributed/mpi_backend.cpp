// The MPI backend: collectives on CPU tensors through MPI's non-blocking collectives
// (MPI_Iallreduce, MPI_Ibcast, MPI_Iallgather, MPI_Ireduce_scatter_block) on Ember's communicator.
//
// float32, float64 and int64 map to MPI's own types and MPI_SUM/MPI_MAX. MPI has no bfloat16:
// it travels as MPI_UINT16_T with Ember's own MPI_Ops, which add (or compare) in float32 and round
// each result once. Open MPI progresses a non-blocking collective only inside MPI calls, so
// InFlight::test() (MPI_Test) is what moves it along; data-parallel training tests its buckets
// while backward runs.
#include <mpi.h>

#include <limits>

#include "core/bfloat16.h"
#include "core/error.h"
#include "distributed/backend.h"
#include "distributed/environment.h"
#include "distributed/mpi_runtime.h"

namespace ember::dist::detail {

namespace {

void bfloat16_sum(void* in, void* inout, int* length, MPI_Datatype*) {
  const auto* a = static_cast<const bfloat16*>(in);
  auto* b = static_cast<bfloat16*>(inout);
  for (int i = 0; i < *length; ++i) b[i] = bfloat16(static_cast<float>(a[i]) + static_cast<float>(b[i]));
}

void bfloat16_max(void* in, void* inout, int* length, MPI_Datatype*) {
  const auto* a = static_cast<const bfloat16*>(in);
  auto* b = static_cast<bfloat16*>(inout);
  for (int i = 0; i < *length; ++i)
    if (static_cast<float>(a[i]) > static_cast<float>(b[i])) b[i] = a[i];
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::BFloat16: return MPI_UINT16_T;
  }
  fail("dist: no MPI type for dtype {}", dtype_name(dtype));
}

// Ember's bfloat16 operations, created once (MPI_Op_create needs MPI initialised).
MPI_Op mpi_op(ReduceKind op, DType dtype) {
  if (dtype == DType::BFloat16) {
    static MPI_Op sum = MPI_OP_NULL, max = MPI_OP_NULL;
    if (sum == MPI_OP_NULL) {
      MPI_Op_create(&bfloat16_sum, /*commute=*/1, &sum);
      MPI_Op_create(&bfloat16_max, /*commute=*/1, &max);
    }
    return op == ReduceKind::Sum ? sum : max;
  }
  return op == ReduceKind::Sum ? MPI_SUM : MPI_MAX;
}

// MPI counts are ints.
int mpi_count(std::int64_t numel, std::string_view what) {
  EMBER_CHECK(numel <= std::numeric_limits<int>::max(),
              "dist::{} (rank {} of {}): {} elements exceed MPI's int count; split the tensor", what, rank(),
              world_size(), numel);
  return static_cast<int>(numel);
}

class MpiInFlight final : public InFlight {
 public:
  explicit MpiInFlight(std::string_view what) : what_(what) {}
  ~MpiInFlight() override {
    if (request_ == MPI_REQUEST_NULL) return;
    // MPI still writes into the tensors this request names: they must outlive it.
    try {
      wait_for(request_, what_);
    } catch (const Error& error) {
      abort(error.what());
    }
  }
  MPI_Request* request() { return &request_; }
  bool test() override { return request_ == MPI_REQUEST_NULL || detail::test(request_, what_); }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) wait_for(request_, what_);
  }

 private:
  std::string_view what_;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

class MpiBackend final : public CollectiveBackend {
 public:
  std::unique_ptr<InFlight> all_reduce(const Tensor& data, ReduceKind op) override {
    auto pending = std::make_unique<MpiInFlight>("all_reduce");
    const int count = mpi_count(data.numel(), "all_reduce");
    std::lock_guard lock(mpi_lock());
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data.raw_data(), count, mpi_type(data.dtype()), mpi_op(op, data.dtype()),
                             communicator(), pending->request()),
              "all_reduce", "MPI_Iallreduce");
    return pending;
  }

  std::unique_ptr<InFlight> broadcast(const Tensor& data, int root) override {
    auto pending = std::make_unique<MpiInFlight>("broadcast");
    const int count = mpi_count(data.numel(), "broadcast");
    std::lock_guard lock(mpi_lock());
    check_mpi(MPI_Ibcast(data.raw_data(), count, mpi_type(data.dtype()), root, communicator(), pending->request()),
              "broadcast", "MPI_Ibcast");
    return pending;
  }

  std::unique_ptr<InFlight> all_gather(const Tensor& output, const Tensor& input) override {
    auto pending = std::make_unique<MpiInFlight>("all_gather");
    const int count = mpi_count(input.numel(), "all_gather");
    const MPI_Datatype type = mpi_type(input.dtype());
    std::lock_guard lock(mpi_lock());
    check_mpi(MPI_Iallgather(input.raw_data(), count, type, output.raw_data(), count, type, communicator(),
                             pending->request()),
              "all_gather", "MPI_Iallgather");
    return pending;
  }

  std::unique_ptr<InFlight> reduce_scatter(const Tensor& output, const Tensor& input, ReduceKind op) override {
    auto pending = std::make_unique<MpiInFlight>("reduce_scatter");
    const int count = mpi_count(output.numel(), "reduce_scatter");
    std::lock_guard lock(mpi_lock());
    check_mpi(MPI_Ireduce_scatter_block(input.raw_data(), output.raw_data(), count, mpi_type(input.dtype()),
                                        mpi_op(op, input.dtype()), communicator(), pending->request()),
              "reduce_scatter", "MPI_Ireduce_scatter_block");
    return pending;
  }
};

MpiBackend mpi_backend;
const BackendRegistration registration(DeviceType::CPU, &mpi_backend);

}  // namespace

}  // namespace ember::dist::detail
