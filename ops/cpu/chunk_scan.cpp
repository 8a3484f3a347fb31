// CPU chunk_exclusive_scan (see ops/linear_attention_chunkwise.h): running sums along the chunks,
// one OpenMP thread per group.
#include <vector>

#include "ops/linear_attention_chunkwise.h"

namespace ember::cpu {
namespace {

void chunk_exclusive_scan_cpu(const Tensor& states, bool reverse) {
  const std::int64_t groups = states.size(0), chunks = states.size(1), width = states.size(2);
  dispatch_floating(states.dtype(), "chunk_exclusive_scan", [&]<typename Scalar>() {
    Scalar* base = static_cast<Scalar*>(states.raw_data());
#pragma omp parallel for schedule(static) if (groups > 1)
    for (std::int64_t g = 0; g < groups; ++g) {
      std::vector<Scalar> running(static_cast<std::size_t>(width), Scalar(0));
      for (std::int64_t i = 0; i < chunks; ++i) {
        Scalar* row = base + (g * chunks + (reverse ? chunks - 1 - i : i)) * width;
        for (std::int64_t x = 0; x < width; ++x) {
          const Scalar increment = row[x];
          row[x] = running[x];
          running[x] += increment;
        }
      }
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::chunk_exclusive_scan_stub, DeviceType::CPU, chunk_exclusive_scan_cpu);

}  // namespace ember::cpu
