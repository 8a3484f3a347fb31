// Fused scaled dot-product (softmax) attention, flash-attention style:
//
//   out = softmax(scale * q k^T + mask) v        (dropout on the softmax weights when training)
//
// The N x N score matrix is never written to memory: queries are processed in blocks against
// blocks of keys with an online softmax (running row max and sum), and forward saves only the
// per-row log-sum-exp (B, H, Nq). Backward recomputes each score block from q, k and that
// log-sum-exp. Causal attention skips the key blocks above the diagonal entirely; key padding
// skips the blocks past each sequence's length.
//
// Dropout is counter-based so backward (and any device) regenerates the same mask: with
// w = philox(seed, offset + ((b*H + h)*Nq + i)*Nk + j) and u = philox_uniform(w[0], w[1]) in (0, 1]
// (core/random.h), weight (b, h, i, j) is kept iff 1 - u >= p, and kept weights are scaled by
// 1/(1-p). A call reserves B*H*Nq*Nk counters of the generator.
//
// bfloat16 q, k, v (on CUDA; under autocast float32 ones are converted there when no dropout is
// asked for) run cuDNN's fused attention (cuda/cudnn_sdpa.cpp), falling back to this kernel in
// float32 for what cuDNN does not take.
#pragma once

#include "core/random.h"
#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

struct SdpaOptions {
  bool causal = false;         // requires Nq == Nk
  double dropout_p = 0.0;      // on the attention weights
  double scale = 0.0;          // 0: 1/sqrt(D)
  Tensor key_lengths{};        // optional int64 (B): keys at positions >= length are masked out
  Generator* generator = nullptr;  // dropout stream; the thread's default when null
};

// q: (B, H, Nq, D), k: (B, H, Nk, D), v: (B, H, Nk, M); any strides with a unit last-dim stride
// are read in place. Returns (B, H, Nq, M) laid out as (B, Nq, H, M), so merging heads is free.
// A query row whose keys are all masked (key length 0) gets zeros.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const SdpaOptions& options = {});

namespace kernels {

struct SdpaParams {
  bool causal = false;
  double scale = 1.0;
  double dropout_p = 0.0;
  std::uint64_t seed = 0, offset = 0;  // dropout counters (see the header comment)
};

// key_lengths: undefined or contiguous int64 (B). out like the returned tensor, lse: contiguous
// (B, H, Nq) of q's dtype, float32 for bfloat16 q (log-sum-exp of the scaled, masked scores; -inf
// for fully masked rows). bfloat16 operands are CUDA only (cuDNN's fused attention).
using sdpa_forward_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                                 const Tensor& out, const Tensor& lse, const SdpaParams& params);
// g like out (unit last-dim stride); dq, dk, dv like q, k, v; all written, not accumulated.
using sdpa_backward_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                                  const Tensor& out, const Tensor& lse, const Tensor& g, const Tensor& dq,
                                  const Tensor& dk, const Tensor& dv, const SdpaParams& params);
extern DispatchStub<sdpa_forward_fn> sdpa_forward_stub;
extern DispatchStub<sdpa_backward_fn> sdpa_backward_stub;

}  // namespace kernels

}  // namespace ember
