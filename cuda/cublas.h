// cuBLAS for Ember: one handle per device, created on first use and bound to that device's Ember
// stream (cuda/context.h), and EMBER_CUBLAS_CHECK, which turns a failed call into an ember::Error
// naming the call and cuBLAS's status.
#pragma once

#include <cublas_v2.h>

#include "core/error.h"

#define EMBER_CUBLAS_CHECK(call)                                                             \
  do {                                                                                       \
    cublasStatus_t ember_cublas_status = (call);                                             \
    if (ember_cublas_status != CUBLAS_STATUS_SUCCESS)                                        \
      ::ember::fail("cuBLAS error in {}: {} ({})", #call,                                    \
                    cublasGetStatusString(ember_cublas_status), static_cast<int>(ember_cublas_status)); \
  } while (0)

namespace ember::cuda {

// The handle for `device`; its work is queued on cuda::stream(device).
cublasHandle_t cublas_handle(int device);

// The math mode every GEMM runs under: cuBLAS's default, plus
// CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION unless
// set_allow_bf16_reduced_precision_reduction(true) (core/backend.h): the default math lets a
// split-K bfloat16 GEMM add its partial sums in bfloat16, which PyTorch also forbids by default.
// TF32 is chosen per call through the compute type, never through the math mode.
cublasMath_t gemm_math_mode();

}  // namespace ember::cuda
