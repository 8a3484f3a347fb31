// CUDA random fill: element i is computed from philox(seed, offset + i) alone (core/random.h; four
// elements per counter for Bernoulli masks, see ops/random.h),
// with the formulas of ops/cpu/random.cpp, so a GPU tensor holds the CPU tensor's values.
//
// The arithmetic uses explicitly rounded double operations (__dadd_rn, __dmul_rn): nvcc would
// otherwise fuse a + b * c into one FMA, which rounds differently from the CPU. Uniform, integer
// and Bernoulli values are therefore bit-identical to the CPU's. Normal values go through the
// device's log and cos, which may differ from glibc's in the last bit of a double (float32
// results are almost always identical).
#include <numbers>

#include "cuda/common.cuh"
#include "ops/random.h"

namespace ember::cuda {
namespace {

using kernels::Distribution;

template <typename T>
__global__ void random_kernel(T* out, std::int64_t n, Distribution dist, double a, double b, std::uint64_t seed,
                              std::uint64_t offset) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads()) {
    const auto w = philox(seed, offset + static_cast<std::uint64_t>(i));
    const double u = philox_uniform(w[0], w[1]);  // (0, 1]
    double value = 0.0;
    switch (dist) {
      case Distribution::Normal: {
        const double u2 = philox_uniform(w[2], w[3]);
        const double radius = ::sqrt(__dmul_rn(-2.0, ::log(u)));
        const double angle = __dmul_rn(2.0 * std::numbers::pi, u2);
        value = __dadd_rn(a, __dmul_rn(__dmul_rn(b, radius), ::cos(angle)));
        break;
      }
      case Distribution::Uniform: value = __dadd_rn(a, __dmul_rn(b - a, 1.0 - u)); break;
      case Distribution::Integer: value = ::floor(__dadd_rn(a, __dmul_rn(b - a, 1.0 - u))); break;
      case Distribution::Bernoulli: break;  // bernoulli_kernel
    }
    out[i] = static_cast<T>(value);
  }
}

// Bernoulli masks: one thread per counter writes the four elements its words decide (ops/random.h).
template <typename T>
__global__ void bernoulli_kernel(T* out, std::int64_t n, double threshold, T kept, std::uint64_t seed,
                                 std::uint64_t offset) {
  const std::int64_t counters = (n + 3) / 4;
  for (std::int64_t c = global_thread(); c < counters; c += global_threads()) {
    const auto w = philox(seed, offset + static_cast<std::uint64_t>(c));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const std::int64_t i = 4 * c + j;
      if (i < n) out[i] = static_cast<double>(w[j]) < threshold ? kept : T(0);
    }
  }
}

void random_cuda(const Tensor& out, Distribution dist, double a, double b, std::uint64_t seed, std::uint64_t offset) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  cudaStream_t stream = launch_stream(out.device());
  dispatch_all(out.dtype(), [&]<typename T>() {
    if (dist == Distribution::Bernoulli) {
      bernoulli_kernel<T><<<grid_size((n + 3) / 4), kBlockSize, 0, stream>>>(
          static_cast<T*>(out.raw_data()), n, a * 4294967296.0, static_cast<T>(b), seed, offset);
      EMBER_CUDA_CHECK_LAUNCH();
      return;
    }
    random_kernel<T><<<grid_size(n), kBlockSize, 0, stream>>>(static_cast<T*>(out.raw_data()), n, dist, a, b, seed,
                                                              offset);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::random_stub, DeviceType::CUDA, random_cuda);

}  // namespace ember::cuda
