// Ops that build new tensors from pieces of others: cat, stack, split, chunk, tril, triu.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Pieces of split_size along dim (the last may be smaller); views of x.
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
// `chunks` nearly equal pieces along dim, like torch.chunk; views of x.
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
// Lower/upper triangle of the last two dims (elements above/below diagonal k set to 0).
Tensor tril(const Tensor& x, std::int64_t k = 0);
Tensor triu(const Tensor& x, std::int64_t k = 0);

namespace kernels {
// out = x with elements outside the band zeroed: keep j - i <= k (lower) or j - i >= k (upper),
// over the last two dims. out is contiguous.
using triangle_fn = void (*)(const Tensor& x, const Tensor& out, std::int64_t k, bool lower);
extern DispatchStub<triangle_fn> triangle_stub;
}  // namespace kernels

}  // namespace ember
