// Copying and filling: the strided copy every layout change goes through.
//
// copy_stub copies src into dst element by element, reading src through broadcast strides and
// converting dtype on the fly; contiguous(), clone(), to(dtype), cat and the backward of slicing all
// use it. Copies between devices go through the device hooks cuda/ registers (core/device_hooks.h,
// used by Tensor::to(Device)).
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

namespace kernels {
// dst and src are on one device; src broadcasts to dst.shape(); dtypes may differ.
using copy_fn = void (*)(const Tensor& src, const Tensor& dst);
using fill_fn = void (*)(const Tensor& dst, double value);
extern DispatchStub<copy_fn> copy_stub;
extern DispatchStub<fill_fn> fill_stub;
}  // namespace kernels

// Copies src's values into dst (broadcasting src), without autograd. Checks shapes and devices,
// refuses a dst whose elements overlap, reads a src that overlaps dst in part through a copy, and
// bumps dst's storage version (core/storage.h).
void copy_into(const Tensor& dst, const Tensor& src, const char* op);

// t detached, as is when GEMM can read its rows in place (unit last-dim stride, row stride at least
// the row length), else a contiguous copy. For kernels that hand row blocks to BLAS.
Tensor with_gemm_rows(const Tensor& t);

// An uninitialised (B, H, N, X) tensor stored as (B, N, H, X): attention kernels write heads this
// way so that merging them back into (B, N, H*X) is a free view.
Tensor empty_heads_last(std::int64_t B, std::int64_t H, std::int64_t N, std::int64_t X, TensorOptions options);

}  // namespace ember
