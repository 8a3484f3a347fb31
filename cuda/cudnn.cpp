// Per-device cuDNN handles (see cudnn.h).
#include "cuda/cudnn.h"

#include <array>
#include <mutex>

#include "cuda/context.h"

namespace ember::cuda {

cudnnHandle_t cudnn_handle(int device) {
  constexpr int kMaxDevices = 16;
  // Never destroyed, like the cuBLAS handles: the driver reclaims them with the process.
  static std::array<cudnnHandle_t, kMaxDevices> handles{};
  static std::array<std::once_flag, kMaxDevices> created;
  cudaStream_t s = stream(device);  // validates the device index
  std::call_once(created[device], [device, s] {
    EMBER_CUDA_CHECK(cudaSetDevice(device));
    EMBER_CUDNN_CHECK(cudnnCreate(&handles[device]));
    EMBER_CUDNN_CHECK(cudnnSetStream(handles[device], s));
  });
  return handles[device];
}

}  // namespace ember::cuda
