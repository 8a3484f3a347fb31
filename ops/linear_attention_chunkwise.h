// Causal linear attention in the chunkwise-parallel form, written with Ember's own ops so that it
// runs on any device. ops/linear_attention.h's algorithm walks the chunks of a head in order,
// carrying the state S; this form computes every chunk's products at once, as batched GEMMs over
// all (batch, head, chunk) triples, and leaves one sequential step, an exclusive prefix sum of
// the per-chunk state increments (chunk_exclusive_scan):
//
//   forward   A_c = tril(Q_c K_c^T),   dS_c = K_c^T Va_c,   S_c = sum_{c' < c} dS_c'
//             num_c = Q_c S_c + A_c Va_c,   out = num[:, :M] / (num[:, M] + eps)
//   backward  G = [g / d, -(g . out) / d],   P_c = tril(G_c Va_c^T),   R_c = sum_{c' > c} Q_c'^T G_c'
//             dQ_c = G_c S_c^T + P_c K_c,   dK_c = P_c^T Q_c + Va_c R_c^T,   dVa_c = A_c^T G_c + K_c R_c
//
// (Va = [V, 1]; the sequence is zero-padded to whole chunks, which adds nothing to any sum.) This
// is the CUDA kernel of causal_linear_attention: ~10 cuBLAS strided-batched GEMMs a pass, TF32
// tensor cores where ember::cuda::set_allow_tf32(true), however long the sequence; extra memory is
// O(N (C + D M / C)) per head. On the CPU the sequential kernel is faster (and leaner); this form
// is tested there against it.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember::chunkwise {

// The contracts of kernels::causal_linear_attention_fn and causal_linear_attention_backward_fn.
void causal_linear_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                     const Tensor& inv_denom, double eps, std::int64_t chunk);
void causal_linear_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                      const Tensor& inv_denom, const Tensor& g, const Tensor& dq, const Tensor& dk,
                                      const Tensor& dv, double eps, std::int64_t chunk);

}  // namespace ember::chunkwise

namespace ember::kernels {

// states: contiguous (G, T, X). In place, states[g, t] becomes the sum of the original
// states[g, t'] over t' < t (over t' > t when reverse); the first (last) becomes zero.
using chunk_exclusive_scan_fn = void (*)(const Tensor& states, bool reverse);
extern DispatchStub<chunk_exclusive_scan_fn> chunk_exclusive_scan_stub;

}  // namespace ember::kernels
