// CPU reductions over a contiguous (outer, reduced, inner) layout.
// inner == 1: each output is a reduction of one contiguous run (sums accumulate in double);
// inner > 1: rows of `inner` values are combined elementwise, which vectorises.
#include <algorithm>
#include <limits>

#include "ops/cpu/loops.h"
#include "ops/reduce.h"

namespace ember::cpu {
namespace {

using kernels::ReduceOp;

template <typename T, typename Combine>
void reduce_rows(const T* x, T* out, std::int64_t outer, std::int64_t reduced, std::int64_t inner,
                 Combine combine) {
  const bool big = outer * reduced * inner >= kParallelGrain;
  if (outer >= 2 || !big) {
#pragma omp parallel for schedule(static) if (big && outer > 1)
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* src = x + o * reduced * inner;
      T* dst = out + o * inner;
      std::copy(src, src + inner, dst);
      for (std::int64_t r = 1; r < reduced; ++r)
        for (std::int64_t i = 0; i < inner; ++i) dst[i] = combine(dst[i], src[r * inner + i]);
    }
    return;
  }
  // One output row: split it across threads instead.
  constexpr std::int64_t kBlock = 256;
#pragma omp parallel for schedule(static)
  for (std::int64_t start = 0; start < inner; start += kBlock) {
    std::int64_t end = std::min(inner, start + kBlock);
    std::copy(x + start, x + end, out + start);
    for (std::int64_t r = 1; r < reduced; ++r)
      for (std::int64_t i = start; i < end; ++i) out[i] = combine(out[i], x[r * inner + i]);
  }
}

template <typename T>
void reduce_typed(ReduceOp op, const Tensor& x, const Tensor& out, std::int64_t outer,
                  std::int64_t reduced, std::int64_t inner) {
  const T* px = x.data_ptr<T>();
  const bool big = outer * reduced * inner >= kParallelGrain;
  if (op == ReduceOp::ArgMax) {
    std::int64_t* po = out.data_ptr<std::int64_t>();
#pragma omp parallel for schedule(static) if (big)
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* src = px + o * reduced * inner + i;
        std::int64_t best = 0;
        for (std::int64_t r = 1; r < reduced; ++r)
          if (src[r * inner] > src[best * inner]) best = r;
        po[o * inner + i] = best;
      }
    }
    return;
  }
  T* po = out.data_ptr<T>();
  if (reduced == 0) {
    std::fill(po, po + outer * inner, op == ReduceOp::Sum ? T(0) : std::numeric_limits<T>::lowest());
    return;
  }
  if (op == ReduceOp::Sum && inner == 1) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
#pragma omp parallel for schedule(static) if (big)
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* src = px + o * reduced;
      Acc acc = 0;
      for (std::int64_t r = 0; r < reduced; ++r) acc += src[r];
      po[o] = static_cast<T>(acc);
    }
    return;
  }
  if (op == ReduceOp::Sum) {
    reduce_rows(px, po, outer, reduced, inner, [](T a, T b) { return a + b; });
  } else {
    reduce_rows(px, po, outer, reduced, inner, [](T a, T b) { return b > a ? b : a; });
  }
}

void reduce_cpu(ReduceOp op, const Tensor& x, const Tensor& out, std::int64_t outer,
                std::int64_t reduced, std::int64_t inner) {
  dispatch_all(x.dtype(), [&]<typename T>() { reduce_typed<T>(op, x, out, outer, reduced, inner); });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::reduce_stub, DeviceType::CPU, reduce_cpu);

}  // namespace ember::cpu
