// CUDA causal linear attention. The op's CUDA kernel is the chunkwise-parallel form of
// ops/linear_attention_chunkwise.h: every chunk of every head at once, as cuBLAS strided-batched
// GEMMs (TF32 tensor cores where ember::cuda::set_allow_tf32(true)), so a pass is a fixed number
// of launches whatever the sequence length. Its one sequential step is chunk_exclusive_scan,
// defined here: one thread per (head, state element) walks the chunks in order, adjacent threads
// on adjacent elements.
#include "cuda/common.cuh"
#include "ops/linear_attention.h"
#include "ops/linear_attention_chunkwise.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void exclusive_scan_kernel(T* states, std::int64_t groups, std::int64_t chunks, std::int64_t width,
                                      bool reverse) {
  for (std::int64_t column = global_thread(); column < groups * width; column += global_threads()) {
    T* first = states + (column / width) * chunks * width + column % width;
    T running = 0;
    for (std::int64_t i = 0; i < chunks; ++i) {
      T& cell = first[(reverse ? chunks - 1 - i : i) * width];
      const T increment = cell;
      cell = running;
      running += increment;
    }
  }
}

void chunk_exclusive_scan_cuda(const Tensor& states, bool reverse) {
  const std::int64_t groups = states.size(0), chunks = states.size(1), width = states.size(2);
  if (groups * width == 0) return;
  cudaStream_t stream = launch_stream(states.device());
  dispatch_floating(states.dtype(), "chunk_exclusive_scan", [&]<typename T>() {
    exclusive_scan_kernel<T><<<grid_size(groups * width), kBlockSize, 0, stream>>>(
        static_cast<T*>(states.raw_data()), groups, chunks, width, reverse);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::chunk_exclusive_scan_stub, DeviceType::CUDA, chunk_exclusive_scan_cuda);
EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_stub, DeviceType::CUDA,
                      chunkwise::causal_linear_attention_forward);
EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_backward_stub, DeviceType::CUDA,
                      chunkwise::causal_linear_attention_backward);

}  // namespace ember::cuda
