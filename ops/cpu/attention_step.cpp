// CPU generation-step attention (see ops/attention_step.h). One (sequence, head) is one task; the
// tasks run on the OpenMP team only when the step reads enough memory to pay for waking it (a long
// KV cache), so a short step stays on the calling thread. Nothing is allocated: the softmax kernel
// keeps one block of scores on the stack and accumulates the output in `out` itself. Its blocks are
// GEMVs (OpenBLAS's kernels stream K and V faster than a dot product per key would), with the
// online softmax's rescaling of the running output passed as GEMV's beta; the block's max and exp
// run on tile_engine.h's vector kernels (float32), not std::exp per key.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/attention_step.h"
#include "ops/cpu/blas.h"
#include "ops/cpu/loops.h"
#include "ops/cpu/tile_engine.h"

namespace ember::cpu {
namespace {

// Keys per block: one GEMV for their scores, one for their values; its scores live on the stack
// (4 KB of float32). Against 256, 1024 cut a step at 16384 positions by ~10 % (fewer restarts of
// the streaming GEMVs).
constexpr std::int64_t kKeyBlock = 1024;
// Elements a step must touch before its heads are split across threads.
constexpr std::int64_t kStepGrain = 4 * kParallelGrain;

// Row (b, h) of a (B, H, X) tensor with a unit last-dim stride.
template <typename T>
T* head_row(const Tensor& t, std::int64_t b, std::int64_t h) {
  return static_cast<T*>(t.raw_data()) + b * t.stride(0) + h * t.stride(1);
}

template <typename T, typename Engine>
void softmax_step(const Engine& engine, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                  const Tensor& values, std::int64_t length, const Tensor& out, double scale_in) {
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2), capacity = keys.size(2);
  const std::int64_t n = length + 1;  // positions attended to, the new one included
  const T scale = static_cast<T>(scale_in);
  parallel_for(B * H, B * H > 1 && B * H * n * (D + M) >= kStepGrain, [&](std::int64_t bh) {
    const std::int64_t b = bh / H, h = bh % H;
    Engine e = engine;
    T* K = keys.data_ptr<T>() + bh * capacity * D;    // (capacity, D)
    T* V = values.data_ptr<T>() + bh * capacity * M;  // (capacity, M)
    std::copy_n(head_row<T>(k, b, h), D, K + length * D);
    std::copy_n(head_row<T>(v, b, h), M, V + length * M);
    const T* qv = head_row<T>(q, b, h);
    T* o = head_row<T>(out, b, h);  // the running, unnormalised output (the first block's beta is 0)
    T running_max = -std::numeric_limits<T>::infinity(), running_sum = 0;
    T s[kKeyBlock];
    for (std::int64_t j0 = 0; j0 < n; j0 += kKeyBlock) {
      const std::int64_t cols = std::min(kKeyBlock, n - j0);
      // s = scale K_block q: one GEMV per block of keys (OpenBLAS runs single-threaded in here).
      gemv<T>(false, cols, D, scale, K + j0 * D, std::max<std::int64_t>(D, 1), qv, 1, T(0), s, 1);
      const T new_max = std::max(running_max, e.max(s, cols));
      const T rescale = std::exp(running_max - new_max);  // 0 on the first block
      const T block_sum = e.exp_shifted_sum(s, cols, new_max);
      running_sum = running_sum * rescale + block_sum;
      running_max = new_max;
      // o = rescale o + V_block^T s: the rescale rides on GEMV's beta.
      gemv<T>(true, cols, M, T(1), V + j0 * M, std::max<std::int64_t>(M, 1), s, 1, rescale, o, 1);
    }
    const T inv = T(1) / running_sum;  // >= 1: the largest score's weight is exp(0)
    for (std::int64_t m = 0; m < M; ++m) o[m] *= inv;
  });
}

template <typename T>
void linear_step(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state, const Tensor& normalizer,
                 const Tensor& out, StepFeatureMap phi, double eps) {
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2);
  parallel_for(B * H, B * H > 1 && B * H * D * M >= kStepGrain, [&](std::int64_t bh) {
    const std::int64_t b = bh / H, h = bh % H;
    const T *qv = head_row<T>(q, b, h), *kv = head_row<T>(k, b, h), *vv = head_row<T>(v, b, h);
    T* S = state.data_ptr<T>() + bh * D * M;  // (D, M)
    T* z = normalizer.data_ptr<T>() + bh * D;  // (D)
    T* o = head_row<T>(out, b, h);
    std::fill_n(o, M, T(0));
    T denominator = static_cast<T>(eps);
    // One pass over S: row d takes its update phi(k)_d v^T, then adds phi(q)_d times itself to out.
    for (std::int64_t d = 0; d < D; ++d) {
      const T fk = step_feature(phi, kv[d]), fq = step_feature(phi, qv[d]);
      z[d] += fk;
      denominator += fq * z[d];
      T* row = S + d * M;
#pragma omp simd
      for (std::int64_t m = 0; m < M; ++m) {
        row[m] += fk * vv[m];
        o[m] += fq * row[m];
      }
    }
    const T inv = T(1) / denominator;
    for (std::int64_t m = 0; m < M; ++m) o[m] *= inv;
  });
}

void softmax_attention_step_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                                const Tensor& values, std::int64_t length, const Tensor& out, double scale) {
  with_engine(q.dtype(), "softmax_attention_step", [&]<typename T>(const auto& engine) {
    softmax_step<T>(engine, q, k, v, keys, values, length, out, scale);
  });
}

void linear_attention_step_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state,
                               const Tensor& normalizer, const Tensor& out, StepFeatureMap phi, double eps) {
  dispatch_floating(q.dtype(), "linear_attention_step",
                    [&]<typename T>() { linear_step<T>(q, k, v, state, normalizer, out, phi, eps); });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::softmax_attention_step_stub, DeviceType::CPU, softmax_attention_step_cpu);
EMBER_REGISTER_KERNEL(kernels::linear_attention_step_stub, DeviceType::CPU, linear_attention_step_cpu);

}  // namespace ember::cpu
