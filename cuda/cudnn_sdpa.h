// cuDNN's fused flash attention for bfloat16 q, k, v on CUDA: the kernel contract of ops/sdpa.h
// (out heads-last, float32 log-sum-exp per query row), built as a cuDNN operation graph per
// problem shape and cached. Each function returns false, having done nothing, for a case it does
// not take (dropout, key_lengths, head sizes that are not equal multiples of 8 up to 128,
// misaligned strides, or no cuDNN engine for the graph); the caller then runs its own kernel.
//
// Only compiled when CMake found cuDNN (EMBER_WITH_CUDNN).
#pragma once

#include <cstddef>

#include "core/tensor.h"
#include "ops/sdpa.h"

namespace ember::cuda {

bool cudnn_sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                        const Tensor& out, const Tensor& lse, const kernels::SdpaParams& params);

bool cudnn_sdpa_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                         const Tensor& out, const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk,
                         const Tensor& dv, const kernels::SdpaParams& params);

// The value the causal mask writes above the diagonal: -inf from cuDNN 9.10 on, the most negative
// finite float before (what cudnn-frontend uses there: older engines mishandle -inf in the mask).
float causal_mask_fill(std::size_t cudnn_version);

// Creates and finalizes every descriptor of the forward and backward graphs for these operands
// (layouts as above; any device: only shapes and strides are read) without planning or running
// them, which needs no GPU: how the tests check the graphs' attributes on a machine without one.
void describe_cudnn_sdpa_graphs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv, bool causal);

}  // namespace ember::cuda
