// The CUDA context: device queries, the per-device stream every Ember kernel runs on, checked
// CUDA calls, and copies between host and device memory.
//
// Only compiled when Ember is built with CUDA (EMBER_WITH_CUDA). Every runtime call goes through
// EMBER_CUDA_CHECK, which turns a failure into an ember::Error naming the call and CUDA's message;
// every kernel launch is followed by EMBER_CUDA_CHECK_LAUNCH(). All of Ember's work for a device
// is queued on that device's one stream, which is what makes the caching allocator's reuse of
// freed blocks safe without events.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/error.h"
#include "core/tensor.h"

#define EMBER_CUDA_CHECK(call)                                                          \
  do {                                                                                  \
    cudaError_t ember_cuda_status = (call);                                             \
    if (ember_cuda_status != cudaSuccess)                                               \
      ::ember::fail("CUDA error in {}: {} ({})", #call,                                 \
                    cudaGetErrorString(ember_cuda_status), static_cast<int>(ember_cuda_status)); \
  } while (0)

// Launch errors (bad configuration, no kernel image for this GPU) are reported here; faults inside
// a kernel surface at the next synchronising call.
#define EMBER_CUDA_CHECK_LAUNCH() EMBER_CUDA_CHECK(cudaGetLastError())

namespace ember::cuda {

// What cudaGetDeviceCount answered, with the versions that explain a failure.
struct DeviceCountAnswer {
  cudaError_t status = cudaSuccess;
  int count = 0;
  int driver_version = 0;   // cudaDriverGetVersion: 0 when no driver is installed
  int runtime_version = 0;  // cudaRuntimeGetVersion
};
// Reads an answer (a seam: tests feed it made-up ones). 0 devices only for a genuine absence: no
// device (cudaErrorNoDevice) or no driver installed at all (driver version 0). Any other failure,
// e.g. a driver too old for this runtime or a failed initialisation, throws ember::Error with
// CUDA's message and both versions: on a machine with a GPU, "no device" would hide it.
int interpret_device_count(const DeviceCountAnswer& answer);

// Number of usable devices (interpret_device_count of the runtime's answer, asked once).
int device_count();
// Why there is no usable device, for skip messages ("" when there is one).
std::string unavailable_reason();
bool is_available();
// Waits for all work queued on the current device's stream.
void synchronize(int device = 0);
// The stream Ember's kernels and copies for `device` are queued on.
cudaStream_t stream(int device = 0);
// Makes `device` current and returns its stream: what every kernel launcher calls first.
cudaStream_t launch_stream(Device device);
// Cached properties (SM count, shared memory limits) of a device.
const cudaDeviceProp& properties(int device);
// Copies contiguous src into contiguous dst of the same shape and dtype, across devices.
void copy_between_devices(const Tensor& dst, const Tensor& src);

}  // namespace ember::cuda
