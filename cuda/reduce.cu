// CUDA reductions (sum, max, argmax) over a contiguous (outer, reduced, inner) layout.
//
// inner == 1: each output reduces one contiguous run: a warp per row for short runs, a 512-thread
//             block per row for long ones.
// inner > 1:  32 consecutive outputs per block (coalesced reads along inner), the reduced dim split
//             over 8 threads per output and combined through shared memory.
// When there are too few outputs to fill the GPU, the reduced dim is also split across blocks
// ("splits"); partial results go to a workspace and a second kernel combines them in split order.
// Every combination happens in an order fixed by the shape alone, so results are deterministic.
// Sums accumulate in double (int64 in int64), as on the CPU. Max and argmax propagate NaN (the
// first NaN wins argmax), as PyTorch does; the CPU kernel is order-dependent there.
#include "cuda/common.cuh"
#include "core/factory.h"
#include "ops/reduce.h"

namespace ember::cuda {
namespace {

using kernels::ReduceOp;

template <typename T>
struct ValueIndex {
  T value;
  std::int64_t index;
};

template <typename T>
__device__ ValueIndex<T> shuffle_down(ValueIndex<T> v, int delta) {
  return {__shfl_down_sync(0xffffffffu, v.value, delta), __shfl_down_sync(0xffffffffu, v.index, delta)};
}
template <typename T>
__device__ ValueIndex<T> shuffle_from(ValueIndex<T> v, int lane) {
  return {__shfl_sync(0xffffffffu, v.value, lane), __shfl_sync(0xffffffffu, v.index, lane)};
}

template <typename T>
struct SumReduce {
  using Acc = acc_t<T>;
  using Out = T;
  __device__ Acc identity() const { return Acc(0); }
  __device__ Acc load(T x, std::int64_t) const { return Acc(x); }
  __device__ Acc operator()(Acc a, Acc b) const { return a + b; }
  __device__ Out finish(Acc a) const { return static_cast<T>(a); }
};

template <typename T>
struct MaxReduce {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return lowest<T>(); }
  __device__ Acc load(T x, std::int64_t) const { return x; }
  __device__ Acc operator()(Acc a, Acc b) const { return Max{}(a, b); }
  __device__ Out finish(Acc a) const { return a; }
};

// Larger value wins, NaN above everything, ties to the smaller index: a total order, so the
// result does not depend on how the work was split.
template <typename T>
struct ArgMaxReduce {
  using Acc = ValueIndex<T>;
  using Out = std::int64_t;
  __device__ Acc identity() const { return {lowest<T>(), std::numeric_limits<std::int64_t>::max()}; }
  __device__ Acc load(T x, std::int64_t r) const { return {x, r}; }
  __device__ Acc operator()(Acc a, Acc b) const {
    const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
    return a.index <= b.index ? a : b;
  }
  __device__ Out finish(Acc a) const { return a.index; }
};

// The part of [0, reduced) that split `split` of `splits` covers.
__device__ __forceinline__ void split_range(std::int64_t reduced, int splits, int split, std::int64_t& begin,
                                            std::int64_t& end) {
  const std::int64_t per_split = (reduced + splits - 1) / splits;
  begin = per_split * split;
  end = begin + per_split < reduced ? begin + per_split : reduced;
}

// inner == 1. Launched with row_launch(outer, reduced) and gridDim.y == splits.
template <typename R, typename T>
__global__ void reduce_rows_kernel(const T* x, typename R::Out* out, typename R::Acc* partial,
                                   std::int64_t outer, std::int64_t reduced, R op) {
  const std::int64_t row = launched_row();
  if (row >= outer) return;  // only whole warps (warp-per-row launches) leave here
  const int splits = gridDim.y, split = blockIdx.y;
  std::int64_t begin, end;
  split_range(reduced, splits, split, begin, end);
  const T* src = x + row * reduced;
  typename R::Acc acc = op.identity();
  for (std::int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) acc = op(acc, op.load(src[r], r));
  acc = row_reduce(acc, op);
  if (threadIdx.x != 0) return;
  if (splits == 1) {
    out[row] = op.finish(acc);
  } else {
    partial[row * splits + split] = acc;
  }
}

constexpr int kColumns = 32, kColumnLanes = 8;

// inner > 1. Block (kColumns, kColumnLanes); grid (ceil(inner / kColumns), <= outer, splits).
template <typename R, typename T>
__global__ void reduce_columns_kernel(const T* x, typename R::Out* out, typename R::Acc* partial,
                                      std::int64_t outer, std::int64_t reduced, std::int64_t inner, R op) {
  __shared__ typename R::Acc lanes[kColumnLanes][kColumns];
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  const int splits = gridDim.z, split = blockIdx.z;
  std::int64_t begin, end;
  split_range(reduced, splits, split, begin, end);
  for (std::int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    typename R::Acc acc = op.identity();
    if (i < inner) {
      const T* src = x + o * reduced * inner + i;
      for (std::int64_t r = begin + threadIdx.y; r < end; r += kColumnLanes) acc = op(acc, op.load(src[r * inner], r));
    }
    lanes[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
      for (int lane = 1; lane < kColumnLanes; ++lane) acc = op(acc, lanes[lane][threadIdx.x]);
      if (splits == 1) {
        out[o * inner + i] = op.finish(acc);
      } else {
        partial[(o * inner + i) * splits + split] = acc;
      }
    }
    __syncthreads();
  }
}

// Combines each output's partials in split order.
template <typename R>
__global__ void combine_splits_kernel(const typename R::Acc* partial, typename R::Out* out, std::int64_t outputs,
                                      int splits, R op) {
  for (std::int64_t j = global_thread(); j < outputs; j += global_threads()) {
    typename R::Acc acc = partial[j * splits];
    for (int s = 1; s < splits; ++s) acc = op(acc, partial[j * splits + s]);
    out[j] = op.finish(acc);
  }
}

int ceil_div_clamped(std::int64_t a, std::int64_t b, int limit) {
  return static_cast<int>(std::min<std::int64_t>((a + b - 1) / b, limit));
}

template <typename R, typename T>
void run_reduce(const Tensor& x, const Tensor& out, std::int64_t outer, std::int64_t reduced, std::int64_t inner) {
  using Acc = typename R::Acc;
  cudaStream_t stream = launch_stream(x.device());
  const T* px = static_cast<const T*>(x.raw_data());
  auto* po = static_cast<typename R::Out*>(out.raw_data());
  // Splitting the reduced dim pays only when the outputs alone leave most of the GPU idle.
  int splits = 1;
  if (inner == 1 && outer < 128 && reduced >= 65536) splits = ceil_div_clamped(reduced, 32768, 64);
  const std::int64_t column_blocks = (inner + kColumns - 1) / kColumns * std::min<std::int64_t>(outer, 65535);
  if (inner > 1 && column_blocks < 128 && reduced >= 4096) splits = ceil_div_clamped(reduced, 2048, 64);
  Tensor workspace;
  Acc* partial = nullptr;
  if (splits > 1) {
    const std::int64_t bytes = outer * inner * splits * static_cast<std::int64_t>(sizeof(Acc));
    workspace = empty({(bytes + 7) / 8}, TensorOptions(kInt64, x.device()));
    partial = static_cast<Acc*>(workspace.raw_data());
  }
  if (inner == 1) {
    RowLaunch launch = row_launch(outer, reduced);
    launch.grid.y = splits;
    reduce_rows_kernel<R, T><<<launch.grid, launch.block, 0, stream>>>(px, po, partial, outer, reduced, R{});
  } else {
    dim3 grid(static_cast<unsigned>((inner + kColumns - 1) / kColumns),
              static_cast<unsigned>(std::min<std::int64_t>(outer, 65535)), splits);
    reduce_columns_kernel<R, T><<<grid, dim3(kColumns, kColumnLanes), 0, stream>>>(px, po, partial, outer, reduced,
                                                                                  inner, R{});
  }
  EMBER_CUDA_CHECK_LAUNCH();
  if (splits > 1) {
    combine_splits_kernel<R><<<grid_size(outer * inner), kBlockSize, 0, stream>>>(partial, po, outer * inner, splits,
                                                                                  R{});
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

void reduce_cuda(ReduceOp op, const Tensor& x, const Tensor& out, std::int64_t outer, std::int64_t reduced,
                 std::int64_t inner) {
  if (outer * inner == 0) return;
  dispatch_all(x.dtype(), [&]<typename T>() {
    switch (op) {
      case ReduceOp::Sum: return run_reduce<SumReduce<T>, T>(x, out, outer, reduced, inner);
      case ReduceOp::Max: return run_reduce<MaxReduce<T>, T>(x, out, outer, reduced, inner);
      case ReduceOp::ArgMax: return run_reduce<ArgMaxReduce<T>, T>(x, out, outer, reduced, inner);
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::reduce_stub, DeviceType::CUDA, reduce_cuda);

}  // namespace ember::cuda
