// Kernel tables of the copy family and the checked copy used by in-place copies and backward.
#include "ops/copy.h"

#include "core/factory.h"
#include "core/memory_overlap.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<copy_fn> copy_stub("copy");
constinit DispatchStub<fill_fn> fill_stub("fill");
}  // namespace kernels

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  EMBER_CHECK(dst.defined() && src.defined(), "{}: undefined tensor argument", op);
  EMBER_CHECK(broadcast_shapes(dst.shape(), src.shape(), op) == dst.shape(),
              "{}: source of shape {} does not broadcast to destination {}", op, src.shape(),
              dst.shape());
  check_no_internal_overlap(dst, op);
  Tensor source = src.device() == dst.device() ? src : src.detach().to(dst.device());
  if (memory_overlap(dst, source) == Overlap::Partial) source = source.detach().clone();
  kernels::copy_stub(dst.device())(source, dst);
  dst.storage()->bump_version();
}

Tensor with_gemm_rows(const Tensor& t) {
  const bool readable = (t.stride(-1) == 1 || t.size(-1) == 1) && t.stride(-2) >= t.size(-1);
  return readable ? t.detach() : t.detach().contiguous();
}

Tensor empty_heads_last(std::int64_t B, std::int64_t H, std::int64_t N, std::int64_t X, TensorOptions options) {
  return empty({B, N, H, X}, options).permute({0, 2, 1, 3});
}

}  // namespace ember
