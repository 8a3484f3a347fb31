// Per-device cuBLAS handles (see cublas.h).
#include "cuda/cublas.h"

#include <array>
#include <mutex>

#include "core/backend.h"
#include "cuda/context.h"

namespace ember::cuda {

cublasHandle_t cublas_handle(int device) {
  constexpr int kMaxDevices = 16;
  // Never destroyed: destroying handles from static destructors races the CUDA runtime's own
  // teardown at exit, and the driver reclaims everything with the process.
  static std::array<cublasHandle_t, kMaxDevices> handles{};
  static std::array<std::once_flag, kMaxDevices> created;
  cudaStream_t s = stream(device);  // validates the device index
  std::call_once(created[device], [device, s] {
    EMBER_CUDA_CHECK(cudaSetDevice(device));
    EMBER_CUBLAS_CHECK(cublasCreate(&handles[device]));
    EMBER_CUBLAS_CHECK(cublasSetStream(handles[device], s));
  });
  return handles[device];
}

cublasMath_t gemm_math_mode() {
  if (allow_bf16_reduced_precision_reduction()) return CUBLAS_DEFAULT_MATH;
  return static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
}

}  // namespace ember::cuda
