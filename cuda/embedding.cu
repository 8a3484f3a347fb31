// CUDA embedding gather and a deterministic scatter-add backward without atomics.
//
// Backward: the indices are sorted together with their positions (CUB's radix sort is stable, so
// equal indices keep position order). Each run of equal indices is one segment; for each segment
// and feature d one thread adds the gradient rows of the segment's positions, in position order,
// into dweight[index, d]. That is exactly the CPU kernel's order of additions, so float32 results
// match the CPU bit for bit. A heavily repeated index (e.g. padding) is summed by D threads
// serially: correct, but slower than an atomic scatter for such inputs.
#include <cub/device/device_radix_sort.cuh>

#include "core/factory.h"
#include "cuda/common.cuh"
#include "ops/embedding.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void embedding_kernel(const T* weight, const std::int64_t* indices, T* out, std::int64_t count,
                                 std::int64_t D) {
  for (std::int64_t e = global_thread(); e < count * D; e += global_threads()) {
    const std::int64_t i = e / D, d = e % D;
    out[e] = weight[indices[i] * D + d];
  }
}

__global__ void iota_kernel(std::int64_t* out, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads()) out[i] = i;
}

// sorted: indices in ascending order; positions: where each came from in g.
template <typename T>
__global__ void segment_sum_kernel(const T* g, const std::uint64_t* sorted, const std::int64_t* positions, T* dweight,
                                   std::int64_t count, std::int64_t D) {
  for (std::int64_t e = global_thread(); e < count * D; e += global_threads()) {
    const std::int64_t p = e / D, d = e % D;
    const std::uint64_t index = sorted[p];
    if (p > 0 && sorted[p - 1] == index) continue;  // not the start of a segment
    T* dst = dweight + static_cast<std::int64_t>(index) * D + d;
    T acc = *dst;
    for (std::int64_t q = p; q < count && sorted[q] == index; ++q) acc += g[positions[q] * D + d];
    *dst = acc;
  }
}

void embedding_cuda(const Tensor& weight, const Tensor& indices, const Tensor& out) {
  const std::int64_t count = indices.numel(), D = weight.size(1);
  if (count * D == 0) return;
  cudaStream_t stream = launch_stream(weight.device());
  dispatch_floating(weight.dtype(), "embedding", [&]<typename T>() {
    embedding_kernel<T><<<grid_size(count * D), kBlockSize, 0, stream>>>(
        static_cast<const T*>(weight.raw_data()), static_cast<const std::int64_t*>(indices.raw_data()),
        static_cast<T*>(out.raw_data()), count, D);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void embedding_backward_cuda(const Tensor& g, const Tensor& indices, const Tensor& dweight) {
  const std::int64_t count = indices.numel(), V = dweight.size(0), D = dweight.size(1);
  if (count * D == 0) return;
  cudaStream_t stream = launch_stream(g.device());
  const TensorOptions opts(kInt64, g.device());
  // Indices are checked to lie in [0, V) by the entry point, so they sort as unsigned keys and
  // only the bits that can be set need sorting.
  int bits = 1;
  while (bits < 63 && (std::int64_t{1} << bits) < V) ++bits;
  Tensor sorted = empty({count}, opts), positions = empty({count}, opts), sorted_positions = empty({count}, opts);
  iota_kernel<<<grid_size(count), kBlockSize, 0, stream>>>(static_cast<std::int64_t*>(positions.raw_data()), count);
  EMBER_CUDA_CHECK_LAUNCH();
  const auto* keys_in = static_cast<const std::uint64_t*>(indices.raw_data());
  auto* keys_out = static_cast<std::uint64_t*>(sorted.raw_data());
  const auto* values_in = static_cast<const std::int64_t*>(positions.raw_data());
  auto* values_out = static_cast<std::int64_t*>(sorted_positions.raw_data());
  std::size_t temp_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys_out, values_in, values_out,
                                                   count, 0, bits, stream));
  Tensor temp = empty({static_cast<std::int64_t>(temp_bytes + 7) / 8}, opts);
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.raw_data(), temp_bytes, keys_in, keys_out, values_in,
                                                   values_out, count, 0, bits, stream));
  dispatch_floating(g.dtype(), "embedding backward", [&]<typename T>() {
    segment_sum_kernel<T><<<grid_size(count * D), kBlockSize, 0, stream>>>(
        static_cast<const T*>(g.raw_data()), keys_out, values_out, static_cast<T*>(dweight.raw_data()), count, D);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::embedding_stub, DeviceType::CUDA, embedding_cuda);
EMBER_REGISTER_KERNEL(kernels::embedding_backward_stub, DeviceType::CUDA, embedding_backward_cuda);

}  // namespace ember::cuda
