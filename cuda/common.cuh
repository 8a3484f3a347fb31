// Device-side helpers shared by Ember's CUDA kernels: launch sizes, deterministic reductions across
// a warp or a row of threads, the launch shape of row kernels, and the (B, H, N, X) operand view of
// the attention kernels. The math functions chosen by type (math::exp, ...) come from
// ops/formulas/host_device.h, shared with the CPU.
//
// Reductions here always combine values in one fixed order (shuffle-down trees, then the warps'
// partials in warp order), so a kernel gives bit-identical results run after run. None of them
// use atomics.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cuda/context.h"
#include "ops/formulas/host_device.h"

namespace ember::cuda {

inline constexpr int kBlockSize = 256;

// Blocks for a grid-stride loop over `work` items: enough to fill any GPU, capped so launches stay
// cheap for huge tensors (each thread then loops).
inline unsigned grid_size(std::int64_t work, int threads = kBlockSize) {
  const std::int64_t blocks = (work + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, 65536));
}

__device__ __forceinline__ std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t global_threads() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// Sums of floating values are accumulated in double, as on the CPU.
template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <typename T>
__host__ __device__ constexpr T lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}

template <typename T>
__device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  return false;
}

// Warp shuffles; a kernel reducing a struct overloads both for it.
template <typename T>
__device__ __forceinline__ T shuffle_down(T v, int delta) {
  return __shfl_down_sync(0xffffffffu, v, delta);
}
template <typename T>
__device__ __forceinline__ T shuffle_from(T v, int lane) {
  return __shfl_sync(0xffffffffu, v, lane);
}

// Lane 0 ends with op over the warp's 32 values (every lane must take part).
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
  for (int delta = 16; delta > 0; delta >>= 1) v = op(v, shuffle_down(v, delta));
  return v;
}

// op over the blockDim.x threads of this row (threadIdx.y picks the row, one row per y); every
// thread of the row gets the result. blockDim.x is 32 (a warp per row: no shared memory, no
// barrier) or a multiple of 32 up to 1024 with blockDim.y == 1; in that case every thread of the
// block must call it. Used by all of Ember's row kernels (softmax, layer_norm, cross_entropy).
template <typename T, typename Op>
__device__ __forceinline__ T row_reduce(T v, Op op) {
  v = warp_reduce(v, op);
  if (blockDim.x == 32) return shuffle_from(v, 0);
  __shared__ T partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // the previous call's readers are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = partial[0];
  for (int w = 1; w < warps; ++w) total = op(total, partial[w]);
  return total;
}

struct Sum {
  template <typename T> __device__ T operator()(T a, T b) const { return a + b; }
};
// The larger value; NaN wins, as in PyTorch (so max is NaN-propagating on the GPU).
struct Max {
  template <typename T> __device__ T operator()(T a, T b) const {
    return is_nan(a) ? a : (is_nan(b) || b > a ? b : a);
  }
};

// A (B, H, N, X) attention operand with unit stride along X (any other strides): the layout the
// attention kernels read and write in place.
template <typename T>
struct Heads {
  T* data;
  std::int64_t stride_b, stride_h, stride_n;
  __device__ T* head(std::int64_t b, std::int64_t h) const { return data + b * stride_b + h * stride_h; }
};

template <typename T>
Heads<T> heads(const Tensor& t) {
  return {static_cast<T*>(t.raw_data()), t.stride(0), t.stride(1), t.stride(2)};
}

// Rows of length n: a warp per row for short rows, a 512-thread block per row for long ones.
struct RowLaunch {
  dim3 grid, block;
};
inline RowLaunch row_launch(std::int64_t rows, std::int64_t n) {
  if (n <= 1024) {
    constexpr int kRowsPerBlock = kBlockSize / 32;
    return {dim3(static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock)), dim3(32, kRowsPerBlock)};
  }
  return {dim3(static_cast<unsigned>(rows)), dim3(512, 1)};
}
__device__ __forceinline__ std::int64_t launched_row() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
}

}  // namespace ember::cuda
