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

// Number of usable devices; 0 (not an error) when there is no driver or GPU.
int device_count();
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
