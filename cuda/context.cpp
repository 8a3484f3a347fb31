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

namespace {

// "13.0" from 13000.
std::string version_text(int version) {
  return version == 0 ? "none" : fmt::format("{}.{}", version / 1000, (version % 1000) / 10);
}

DeviceCountAnswer ask_device_count() {
  DeviceCountAnswer answer;
  answer.status = cudaGetDeviceCount(&answer.count);
  cudaGetLastError();  // clear a sticky error of the query itself
  cudaDriverGetVersion(&answer.driver_version);
  cudaRuntimeGetVersion(&answer.runtime_version);
  return answer;
}

// Asked once per process: a driver does not appear or vanish while it runs.
const DeviceCountAnswer& answer() {
  static const DeviceCountAnswer asked = ask_device_count();
  return asked;
}

}  // namespace

int interpret_device_count(const DeviceCountAnswer& a) {
  if (a.status == cudaSuccess) return a.count;
  if (a.status == cudaErrorNoDevice) return 0;
  if (a.status == cudaErrorInsufficientDriver && a.driver_version == 0) return 0;  // no driver installed
  fail("cuda: cannot use the GPU: cudaGetDeviceCount failed with {} ({}: {}); driver supports CUDA {}, this build "
       "needs the runtime's CUDA {}",
       static_cast<int>(a.status), cudaGetErrorName(a.status), cudaGetErrorString(a.status),
       version_text(a.driver_version), version_text(a.runtime_version));
}

int device_count() { return interpret_device_count(answer()); }

std::string unavailable_reason() {
  const DeviceCountAnswer& a = answer();
  if (a.status == cudaSuccess && a.count > 0) return "";
  if (a.status == cudaSuccess || a.status == cudaErrorNoDevice) return "no CUDA device";
  if (a.status == cudaErrorInsufficientDriver && a.driver_version == 0) return "no CUDA driver installed";
  return fmt::format("CUDA unusable: {}", cudaGetErrorString(a.status));
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
