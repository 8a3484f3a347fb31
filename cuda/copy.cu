// CUDA strided copy (with dtype conversion and broadcasting) and fill. A same-dtype copy between
// contiguous tensors of one shape is a plain device-to-device memcpy; everything else goes through
// cuda/loops.cuh, so contiguous(), clone(), to(dtype), cat and expand-then-copy all work on any
// layout.
#include "cuda/loops.cuh"
#include "ops/copy.h"

namespace ember::cuda {
namespace {

template <typename To, typename Ti>
void copy_typed(const Tensor& src, const Tensor& dst) {
  launch_elementwise<1, To, Ti>(dst, {src}, [] __device__(Ti v) { return static_cast<To>(v); });
}

void copy_cuda(const Tensor& src, const Tensor& dst) {
  if (dst.numel() == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() &&
      src.shape() == dst.shape()) {
    cudaStream_t stream = launch_stream(dst.device());
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), dst.numel() * element_size(dst.dtype()),
                                     cudaMemcpyDeviceToDevice, stream));
    return;
  }
  dispatch_storage(dst.dtype(), [&]<typename To>() {
    dispatch_storage(src.dtype(), [&]<typename Ti>() { copy_typed<To, Ti>(src, dst); });
  });
}

template <typename T>
void fill_typed(const Tensor& dst, double value) {
  const T v = static_cast<T>(value);
  launch_elementwise<0, T, T>(dst, {}, [v] __device__() { return v; });
}

void fill_cuda(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), [&]<typename T>() { fill_typed<T>(dst, value); });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::copy_stub, DeviceType::CUDA, copy_cuda);
EMBER_REGISTER_KERNEL(kernels::fill_stub, DeviceType::CUDA, fill_cuda);

}  // namespace ember::cuda
