// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs") on feature-mapped queries
// and keys, causal or not, with key-padding lengths: linear_attention. Its causal form is one op
// with a hand-written forward and backward, causal_linear_attention:
//
//   out_i = sum_{j<=i} (q_i . k_j) v_j  /  (q_i . sum_{j<=i} k_j + eps)
//
// for feature-mapped queries and keys q = phi(Q), k = phi(K) (non-negative, e.g. elu(x)+1).
// The naive form needs the N prefix sums of D x M outer products; this op never materialises
// them. It splits the sequence into chunks of C rows and carries the state S = sum k_j v_j^T
// between chunks, so all work is GEMMs:
//   out_chunk = Q_c S + tril(Q_c K_c^T) V_c,    S += K_c^T V_c.
// The denominator rides along as an extra value column of ones (S is D x (M+1)). Time is
// O(N (D M + C (D + M))) and extra memory O(C^2 + D M) per head, plus one N x (M+1) buffer
// per thread in backward. Forward saves, besides q, k, v and the output, one number per row: the
// inverse denominator 1 / (q_i . z_i + eps). Backward rebuilds the state chunk by chunk for dQ,
// then walks the chunks in reverse with R = sum_{later i} q_i g_i^T. That is the CPU kernel; the
// CUDA kernel computes the same chunks all at once (ops/linear_attention_chunkwise.h).
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

struct LinearAttentionOptions {
  bool causal = false;
  double eps = 1e-6;           // added to the normaliser
  Tensor key_lengths{};        // optional int64 (B): keys at positions >= length contribute nothing
  std::int64_t chunk_size = 0;  // causal: chunk of causal_linear_attention (0: the device's)
};

// phi_q (B, H, Nq, D), phi_k (B, H, Nk, D), v (B, H, Nk, M) -> (B, H, Nq, M):
//   out_i = sum_j (phi_q_i . phi_k_j) v_j / (phi_q_i . sum_j phi_k_j + eps)
// over all j (non-causal) or j <= i (causal, which needs Nq == Nk). Padded keys (key_lengths) have
// their phi_k rows zeroed, so they add nothing to either sum; a length >= Nk masks nothing.
// Non-causal is composed of matmuls (phi_k^T v, then phi_q times it); causal calls
// causal_linear_attention. Any device whose matmul and elementwise kernels exist.
Tensor linear_attention(const Tensor& phi_q, const Tensor& phi_k, const Tensor& v,
                        const LinearAttentionOptions& options = {});

// q, k: (B, H, N, D), v: (B, H, N, M), one dtype and device; any strides with a unit last-dim
// stride are read in place (e.g. heads split from a (B, N, H*D) projection). Returns (B, H, N, M)
// laid out as (B, N, H, M) in memory, so merging heads back is free.
// chunk_size 0 takes the device's: 32 on the CPU (its sequential kernel does a quarter fewer flops
// than at 64, and ran ~12 % faster at N = 1024 and 4096 on a Zen 2 host), 64 on CUDA (fewer
// chunk states for the chunkwise-parallel form to keep).
Tensor causal_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, double eps = 1e-6,
                               std::int64_t chunk_size = 0);

namespace kernels {
// inv_denom: contiguous (B, H, N) of q's dtype, written with 1 / (q_i . z_i + eps).
using causal_linear_attention_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& out, const Tensor& inv_denom, double eps,
                                            std::int64_t chunk);
// out and inv_denom as forward wrote them; g like out; dq, dk, dv like q, k, v (unit last-dim
// stride); all written, not accumulated.
using causal_linear_attention_backward_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v,
                                                     const Tensor& out, const Tensor& inv_denom,
                                                     const Tensor& g, const Tensor& dq, const Tensor& dk,
                                                     const Tensor& dv, double eps, std::int64_t chunk);
extern DispatchStub<causal_linear_attention_fn> causal_linear_attention_stub;
extern DispatchStub<causal_linear_attention_backward_fn> causal_linear_attention_backward_stub;
}  // namespace kernels

}  // namespace ember
