// CUDA device queries, per-device streams and cross-device copies.
#include "cuda/context.h"

#include <array>
#include <mutex>

namespace ember::cuda {

namespace {

constexpr int kMaxDevices = 16;

// Counted once: the check runs on every kernel launch.
void check_device(int device) {
  static const int count = device_count();
  EMBER_CHECK(device >= 0 && device < kMaxDevices && device < count,
              "cuda: device {} is not available ({} devices)", device, count);
}

}  // namespace

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

bool is_available() { return device_count() > 0; }

cudaStream_t stream(int device) {
  static std::array<cudaStream_t, kMaxDevices> streams{};
  static std::array<std::once_flag, kMaxDevices> created;
  check_device(device);
  std::call_once(created[device], [device] {
    EMBER_CUDA_CHECK(cudaSetDevice(device));
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  });
  return streams[device];
}

cudaStream_t launch_stream(Device device) {
  cudaStream_t s = stream(device.index);
  EMBER_CUDA_CHECK(cudaSetDevice(device.index));
  return s;
}

const cudaDeviceProp& properties(int device) {
  static std::array<cudaDeviceProp, kMaxDevices> props{};
  static std::array<std::once_flag, kMaxDevices> queried;
  check_device(device);
  std::call_once(queried[device], [device] { EMBER_CUDA_CHECK(cudaGetDeviceProperties(&props[device], device)); });
  return props[device];
}

void synchronize(int device) {
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream(device)));
}

void copy_between_devices(const Tensor& dst, const Tensor& src) {
  EMBER_CHECK(dst.is_contiguous() && src.is_contiguous() && dst.shape() == src.shape() &&
                  dst.dtype() == src.dtype(),
              "copy_between_devices: need contiguous tensors of one shape and dtype, got {} {} and {} {}",
              dst.shape(), dst.dtype(), src.shape(), src.dtype());
  const std::size_t bytes = static_cast<std::size_t>(src.numel()) * element_size(src.dtype());
  if (bytes == 0) return;
  const int device = dst.device().is_cuda() ? dst.device().index : src.device().index;
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s = stream(device);
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, cudaMemcpyDefault, s));
  // Host memory is pageable and may be freed right after: finish before returning.
  EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace ember::cuda
