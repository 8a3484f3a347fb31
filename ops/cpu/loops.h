// CPU iteration over N operands that share one (broadcast) shape but have their own strides.
//
// for_each_row coalesces dims that are contiguous for every operand (a contiguous tensor becomes
// one long row), then calls `row(offsets, length, inner_strides)` once per innermost row, with the
// element offset of each operand's first element. Rows are split across OpenMP threads when the
// tensor is large. The row functions below keep unit-stride rows in tight, vectorisable loops:
// strides are only looked at once per row, never per element.
#pragma once

#include <array>
#include <cstdint>

#include "core/shape.h"

namespace ember::cpu {

// Below this many elements a kernel runs on one thread: waking a team costs more than it saves.
inline constexpr std::int64_t kParallelGrain = 32768;

// fn(i) for i in [0, n), split across the OpenMP team when `parallel`, else a plain loop. A branch
// rather than an `if` clause on the pragma: with the clause GCC still enters libgomp (a team of one
// thread) on every call, which costs about as much as a small op's whole kernel.
template <typename F>
void parallel_for(std::int64_t n, bool parallel, F&& fn) {
  if (!parallel) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) fn(i);
}

template <std::size_t N>
using Offsets = std::array<std::int64_t, N>;

template <std::size_t N, typename RowFn>
void for_each_row(const Shape& shape, const std::array<Shape, N>& strides, RowFn&& row) {
  if (shape_numel(shape) == 0) return;
  // Coalesce dim i into dim i+1 when every operand steps through them as one.
  Shape dims;
  std::array<Shape, N> st;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 dims never move the offset
    bool merge = !dims.empty();
    for (std::size_t k = 0; k < N && merge; ++k)
      merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      dims.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
    } else {
      dims.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  Offsets<N> inner{};
  if (dims.empty()) {
    row(Offsets<N>{}, std::int64_t{1}, inner);
    return;
  }
  for (std::size_t k = 0; k < N; ++k) inner[k] = st[k].back();
  const std::int64_t length = dims.back();
  const std::int64_t rows = shape_numel(dims) / length;
  const int outer_dims = static_cast<int>(dims.size()) - 1;
  auto run_row = [&](std::int64_t r) {
    Offsets<N> offsets{};
    std::int64_t rest = r;
    for (int d = outer_dims - 1; d >= 0; --d) {
      std::int64_t i = rest % dims[d];
      rest /= dims[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += i * st[k][d];
    }
    row(offsets, length, inner);
  };
  parallel_for(rows, rows * length >= kParallelGrain && rows > 1, run_row);
}

// out[i] = f(a[i]) over a row; the unit-stride case is a plain loop the compiler vectorises.
template <typename To, typename Ti, typename F>
inline void unary_row(To* out, std::int64_t so, const Ti* a, std::int64_t sa, std::int64_t n, F f) {
  if (so == 1 && sa == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i * so] = f(a[i * sa]);
  }
}

// out[i] = f(a[i], b[i]) over a row, with unit-stride and scalar-broadcast fast paths.
template <typename T, typename F>
inline void binary_row(T* out, std::int64_t so, const T* a, std::int64_t sa, const T* b,
                       std::int64_t sb, std::int64_t n, F f) {
  if (so == 1 && sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const T bv = *b;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (so == 1 && sa == 0 && sb == 1) {
    const T av = *a;
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i * so] = f(a[i * sa], b[i * sb]);
  }
}

}  // namespace ember::cpu
