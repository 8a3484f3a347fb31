// One generation step of attention for each sequence and head, in place on the layer's memory:
// what nn::MultiHeadAttention::forward_step runs, one op per kind, no autograd, no allocation.
//
//   softmax_attention_step   writes the new key and value at position `length` of a preallocated
//                            KV cache, then  out = softmax(scale q K^T) V  over positions 0..length.
//                            One query, so no GEMM: each head streams its keys, then its values,
//                            in blocks of 1024 with an online softmax (the cache is read once).
//   linear_attention_step    the RNN form of linear attention (Katharopoulos et al. 2020):
//                              S += phi(k) v^T,  z += phi(k),  out = phi(q)^T S / (phi(q)^T z + eps)
//                            in one pass over S per head.
//
// Both run the heads in parallel only when the step is enough work to pay for waking the threads.
// q, k (B, H, D) and v (B, H, M) may be any views with a unit last-dim stride (heads of a projected
// row); out (B, H, M) likewise. Both refuse inputs that require grad while grad mode is on: they are
// inference-only (train with scaled_dot_product_attention and causal_linear_attention).
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"
#include "ops/formulas/feature_maps.h"

namespace ember {

// keys (B, H, capacity, D), values (B, H, capacity, M), contiguous, capacity > length >= 0.
// scale 0: 1/sqrt(D).
void softmax_attention_step(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                            const Tensor& values, std::int64_t length, const Tensor& out, double scale = 0.0);

// state (B, H, D, M) and normalizer (B, H, D, 1), contiguous, updated in place. eps >= 0. phi
// (ops/formulas/feature_maps.h) is applied to q and k here; Identity when the caller applied its own.
void linear_attention_step(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state,
                           const Tensor& normalizer, const Tensor& out, StepFeatureMap feature_map, double eps = 1e-6);

namespace kernels {
// Shapes and layouts checked by the entry points above.
using softmax_attention_step_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                                           const Tensor& values, std::int64_t length, const Tensor& out, double scale);
using linear_attention_step_fn = void (*)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state,
                                          const Tensor& normalizer, const Tensor& out, StepFeatureMap feature_map,
                                          double eps);
extern DispatchStub<softmax_attention_step_fn> softmax_attention_step_stub;
extern DispatchStub<linear_attention_step_fn> linear_attention_step_stub;
}  // namespace kernels

}  // namespace ember
