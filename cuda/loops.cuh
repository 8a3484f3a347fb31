// Elementwise kernels over N inputs and one output that share a (broadcast) shape but have their
// own strides: the CUDA counterpart of ops/cpu/loops.h.
//
//   launch_elementwise<N, To, Ti>(out, {a, b}, [=] __device__ (Ti x, Ti y) -> To { ... });
//
// Inputs are read as broadcast to out's shape (stride 0 along broadcast dims); out may itself be a
// strided view (in-place ops such as add_ write through one). On the host, dims that every operand
// steps through as one are merged first, so contiguous tensors become one flat dim. Then:
//   - flat operands (unit stride, or stride 0 for a broadcast scalar) take a kernel that moves
//     16 bytes per load and store when every pointer is aligned for it;
//   - anything else takes a kernel that turns each linear index into per-operand offsets with at
//     most kMaxDims divisions (32-bit when the tensor is small enough, which is much cheaper).
// Tensors with more than kMaxDims unmergeable dims are split on the host into several launches.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "cuda/common.cuh"

namespace ember::cuda {

inline constexpr int kMaxDims = 8;

// A fixed-size array that kernels can take by value and index (std::array's accessors are host
// functions).
template <typename T, int N>
struct Array {
  T data[N > 0 ? N : 1];
  __host__ __device__ T& operator[](int i) { return data[i]; }
  __host__ __device__ const T& operator[](int i) const { return data[i]; }
};

// Element offsets of N operands for a row-major linear index over a shape of up to kMaxDims dims
// (stored innermost first, so the index is peeled by repeated division).
template <int N>
struct OffsetCalculator {
  int ndim = 0;
  bool small = true;  // numel fits in 32 bits: divide in 32 bits
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims][N > 0 ? N : 1] = {};

  __device__ Array<std::int64_t, N> get(std::int64_t linear) const {
    Array<std::int64_t, N> offsets{};
    if (small) {
      auto rest = static_cast<std::uint32_t>(linear);
#pragma unroll
      for (int d = 0; d < kMaxDims; ++d) {
        if (d == ndim) break;
        const auto size = static_cast<std::uint32_t>(sizes[d]);
        const std::uint32_t next = rest / size;
        const std::int64_t i = rest - next * size;
        rest = next;
#pragma unroll
        for (int k = 0; k < N; ++k) offsets[k] += i * strides[d][k];
      }
    } else {
      auto rest = static_cast<std::uint64_t>(linear);
#pragma unroll
      for (int d = 0; d < kMaxDims; ++d) {
        if (d == ndim) break;
        const auto size = static_cast<std::uint64_t>(sizes[d]);
        const std::uint64_t next = rest / size;
        const auto i = static_cast<std::int64_t>(rest - next * size);
        rest = next;
#pragma unroll
        for (int k = 0; k < N; ++k) offsets[k] += i * strides[d][k];
      }
    }
    return offsets;
  }
};

// Shape and per-operand strides with size-1 dims dropped and mergeable neighbours merged,
// outermost first (the same rule as ops/cpu/loops.h).
template <int N>
struct Layout {
  Shape sizes;
  std::vector<std::array<std::int64_t, N>> strides;
};

template <int N>
Layout<N> coalesce(const Shape& shape, const std::array<Shape, N>& strides) {
  Layout<N> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.sizes.empty();
    for (int k = 0; k < N && merge; ++k) merge = out.strides.back()[k] == strides[k][d] * shape[d];
    if (merge) {
      out.sizes.back() *= shape[d];
      for (int k = 0; k < N; ++k) out.strides.back()[k] = strides[k][d];
    } else {
      out.sizes.push_back(shape[d]);
      std::array<std::int64_t, N> s{};
      for (int k = 0; k < N; ++k) s[k] = strides[k][d];
      out.strides.push_back(s);
    }
  }
  return out;
}

// Calls launch(calculator, base_offsets, count) once per block of at most kMaxDims inner dims;
// the outer dims beyond that are walked here on the host.
template <int N, typename Launch>
void for_each_launch(const Layout<N>& layout, std::size_t first, Array<std::int64_t, N> base, Launch&& launch) {
  const std::size_t ndim = layout.sizes.size() - first;
  if (ndim > static_cast<std::size_t>(kMaxDims)) {
    for (std::int64_t i = 0; i < layout.sizes[first]; ++i) {
      Array<std::int64_t, N> next = base;
      for (int k = 0; k < N; ++k) next[k] += i * layout.strides[first][k];
      for_each_launch<N>(layout, first + 1, next, launch);
    }
    return;
  }
  OffsetCalculator<N> calc;
  calc.ndim = static_cast<int>(ndim);
  std::int64_t count = 1;
  for (std::size_t j = 0; j < ndim; ++j) {
    const std::size_t d = layout.sizes.size() - 1 - j;  // innermost first
    calc.sizes[j] = layout.sizes[d];
    for (int k = 0; k < N; ++k) calc.strides[j][k] = layout.strides[d][k];
    count *= layout.sizes[d];
  }
  calc.small = count <= std::int64_t{0xFFFFFFFF};
  launch(calc, base, count);
}

template <typename F, typename Values, std::size_t... I>
__device__ __forceinline__ auto call_with(const F& f, const Values& values, std::index_sequence<I...>) {
  return f(values[I]...);
}

template <typename T, int V>
struct alignas(sizeof(T) * V) Vector {
  T data[V];
};

// Flat operands: input k is read at i (scalar[k] false) or at 0 (a broadcast scalar).
template <int V, int N, typename To, typename Ti, typename F>
__global__ void flat_kernel(To* out, Array<const Ti*, N> in, Array<bool, N> scalar, std::int64_t n, F f) {
  const std::int64_t vectors = n / V;
  for (std::int64_t v = global_thread(); v < vectors; v += global_threads()) {
    Array<Array<Ti, V>, N> values;
#pragma unroll
    for (int k = 0; k < N; ++k) {
      if (scalar[k]) {
#pragma unroll
        for (int j = 0; j < V; ++j) values[k][j] = in[k][0];
      } else {
        const auto loaded = reinterpret_cast<const Vector<Ti, V>*>(in[k])[v];
#pragma unroll
        for (int j = 0; j < V; ++j) values[k][j] = loaded.data[j];
      }
    }
    Vector<To, V> result;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      Array<Ti, N> args;
#pragma unroll
      for (int k = 0; k < N; ++k) args[k] = values[k][j];
      result.data[j] = call_with(f, args, std::make_index_sequence<N>{});
    }
    reinterpret_cast<Vector<To, V>*>(out)[v] = result;
  }
  for (std::int64_t i = vectors * V + global_thread(); i < n; i += global_threads()) {
    Array<Ti, N> args;
#pragma unroll
    for (int k = 0; k < N; ++k) args[k] = in[k][scalar[k] ? 0 : i];
    out[i] = call_with(f, args, std::make_index_sequence<N>{});
  }
}

// Operand 0 of the calculator is out, operand k + 1 is input k.
template <int N, typename To, typename Ti, typename F>
__global__ void strided_kernel(To* out, Array<const Ti*, N> in, OffsetCalculator<N + 1> calc, std::int64_t n, F f) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads()) {
    const auto offsets = calc.get(i);
    Array<Ti, N> args;
#pragma unroll
    for (int k = 0; k < N; ++k) args[k] = in[k][offsets[k + 1]];
    out[offsets[0]] = call_with(f, args, std::make_index_sequence<N>{});
  }
}

template <typename T>
bool aligned_to(const T* p, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

// out = f(inputs...) elementwise; inputs broadcast to out's shape.
template <int N, typename To, typename Ti, typename F>
void launch_elementwise(const Tensor& out, const std::array<Tensor, N>& inputs, F f) {
  if (out.numel() == 0) return;
  cudaStream_t stream = launch_stream(out.device());
  std::array<Shape, N + 1> strides;
  strides[0] = out.strides();
  To* out_ptr = static_cast<To*>(out.raw_data());
  Array<const Ti*, N> in_ptrs{};
  for (int k = 0; k < N; ++k) {
    strides[k + 1] = broadcast_strides(inputs[k].shape(), inputs[k].strides(), out.shape());
    in_ptrs[k] = static_cast<const Ti*>(inputs[k].raw_data());
  }
  const Layout<N + 1> layout = coalesce<N + 1>(out.shape(), strides);

  bool flat = layout.sizes.size() <= 1;
  Array<bool, N> scalar{};
  for (int k = 0; k <= N && flat && !layout.sizes.empty(); ++k) {
    const std::int64_t s = layout.strides[0][k];
    flat = k == 0 ? s == 1 : (s == 0 || s == 1);
    if (k > 0) scalar[k - 1] = s == 0;
  }
  if (layout.sizes.empty()) {  // a single element
    for (int k = 0; k < N; ++k) scalar[k] = true;
  }
  if (flat) {
    const std::int64_t n = out.numel();
    constexpr int V = static_cast<int>(16 / std::max(sizeof(To), sizeof(Ti)));
    bool vectorize = aligned_to(out_ptr, V * sizeof(To));
    for (int k = 0; k < N; ++k) vectorize = vectorize && (scalar[k] || aligned_to(in_ptrs[k], V * sizeof(Ti)));
    if (vectorize) {
      flat_kernel<V, N, To, Ti><<<grid_size((n + V - 1) / V), kBlockSize, 0, stream>>>(out_ptr, in_ptrs, scalar, n, f);
    } else {
      flat_kernel<1, N, To, Ti><<<grid_size(n), kBlockSize, 0, stream>>>(out_ptr, in_ptrs, scalar, n, f);
    }
    EMBER_CUDA_CHECK_LAUNCH();
    return;
  }
  for_each_launch<N + 1>(layout, 0, Array<std::int64_t, N + 1>{}, [&](const OffsetCalculator<N + 1>& calc,
                                                                      const Array<std::int64_t, N + 1>& base,
                                                                      std::int64_t count) {
    Array<const Ti*, N> shifted = in_ptrs;
    for (int k = 0; k < N; ++k) shifted[k] += base[k + 1];
    strided_kernel<N, To, Ti><<<grid_size(count), kBlockSize, 0, stream>>>(out_ptr + base[0], shifted, calc, count, f);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ember::cuda
