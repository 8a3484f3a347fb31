// cuDNN for Ember: one handle per device, created on first use and bound to that device's Ember
// stream (cuda/context.h), and EMBER_CUDNN_CHECK, which turns a failed call into an ember::Error
// naming the call and cuDNN's message. Only compiled when CMake found cuDNN (EMBER_WITH_CUDNN).
#pragma once

#include <cudnn.h>

#include "core/error.h"

#define EMBER_CUDNN_CHECK(call)                                                             \
  do {                                                                                      \
    cudnnStatus_t ember_cudnn_status = (call);                                              \
    if (ember_cudnn_status != CUDNN_STATUS_SUCCESS)                                         \
      ::ember::fail("cuDNN error in {}: {} ({})", #call, cudnnGetErrorString(ember_cudnn_status), \
                    static_cast<int>(ember_cudnn_status));                                  \
  } while (0)

namespace ember::cuda {

// The handle for `device`; its work is queued on cuda::stream(device).
cudnnHandle_t cudnn_handle(int device);

}  // namespace ember::cuda
