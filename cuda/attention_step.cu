// CUDA generation-step attention (see ops/attention_step.h): one block per (sequence, head).
//   softmax: each warp walks its share of the keys (j = warp, warp + warps, ...) with an online
//            softmax, a lane per element of the dot product and per output column, keeping its
//            running output in shared memory; the warps' partial results are combined in warp order
//            at the end, so the result is the same run after run (no atomics).
//   linear:  a thread per output column walks the D rows of S once (update, then read-out); the
//            normaliser is updated after every thread has read its old value.
// Written without a GPU at hand (the CPU kernels are the tested ones): see the op table's
// "cuda parity" cases of these two ops.
#include "cuda/common.cuh"
#include "ops/attention_step.h"

namespace ember::cuda {
namespace {

constexpr int kStepThreads = 128;  // 4 warps

// Row (b, h) of a (B, H, X) operand with a unit last-dim stride.
template <typename T>
struct HeadRows {
  T* data;
  std::int64_t stride_b, stride_h;
  __device__ T* row(std::int64_t b, std::int64_t h) const { return data + b * stride_b + h * stride_h; }
};

template <typename T>
HeadRows<T> head_rows(const Tensor& t) {
  return {static_cast<T*>(t.raw_data()), t.stride(0), t.stride(1)};
}

template <typename T>
__global__ void softmax_step_kernel(HeadRows<T> q, HeadRows<T> k, HeadRows<T> v, T* keys, T* values,
                                    HeadRows<T> out, std::int64_t H, std::int64_t D, std::int64_t M,
                                    std::int64_t capacity, std::int64_t length, T scale) {
  extern __shared__ unsigned char shared_bytes[];
  const int warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  T* acc = reinterpret_cast<T*>(shared_bytes);  // (warps, M)
  T* warp_max = acc + warps * M;                // (warps)
  T* warp_sum = warp_max + warps;               // (warps)
  const std::int64_t bh = blockIdx.x, b = bh / H, h = bh % H;
  T* K = keys + bh * capacity * D;
  T* V = values + bh * capacity * M;
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) K[length * D + i] = k.row(b, h)[i];
  for (std::int64_t i = threadIdx.x; i < M; i += blockDim.x) V[length * M + i] = v.row(b, h)[i];
  for (std::int64_t i = threadIdx.x; i < warps * M; i += blockDim.x) acc[i] = T(0);
  __syncthreads();
  const T* qv = q.row(b, h);
  T* my_acc = acc + warp * M;
  T running_max = lowest<T>(), running_sum = 0;
  for (std::int64_t j = warp; j <= length; j += warps) {
    T part = 0;
    for (std::int64_t d = lane; d < D; d += 32) part += qv[d] * K[j * D + d];
    const T s = scale * shuffle_from(warp_reduce(part, Sum()), 0);
    const T new_max = s > running_max ? s : running_max;
    const T rescale = math::exp(running_max - new_max), p = math::exp(s - new_max);
    running_sum = running_sum * rescale + p;
    for (std::int64_t e = lane; e < M; e += 32) my_acc[e] = my_acc[e] * rescale + p * V[j * M + e];
    running_max = new_max;
  }
  if (lane == 0) {
    warp_max[warp] = running_max;
    warp_sum[warp] = running_sum;
  }
  __syncthreads();
  T m = lowest<T>();
  for (int w = 0; w < warps; ++w) m = warp_max[w] > m ? warp_max[w] : m;
  T l = 0;
  for (int w = 0; w < warps; ++w) l += warp_sum[w] * math::exp(warp_max[w] - m);
  T* o = out.row(b, h);
  for (std::int64_t e = threadIdx.x; e < M; e += blockDim.x) {
    T total = 0;
    for (int w = 0; w < warps; ++w) total += acc[w * M + e] * math::exp(warp_max[w] - m);
    o[e] = total / l;
  }
}

template <typename T>
__global__ void linear_step_kernel(HeadRows<T> q, HeadRows<T> k, HeadRows<T> v, T* state, T* normalizer,
                                   HeadRows<T> out, std::int64_t H, std::int64_t D, std::int64_t M,
                                   StepFeatureMap phi, T eps) {
  const std::int64_t bh = blockIdx.x, b = bh / H, h = bh % H;
  const T *qv = q.row(b, h), *kv = k.row(b, h), *vv = v.row(b, h);
  T* S = state + bh * D * M;
  T* z = normalizer + bh * D;
  T denominator = eps;
  for (std::int64_t d = 0; d < D; ++d) denominator += step_feature(phi, qv[d]) * (z[d] + step_feature(phi, kv[d]));
  for (std::int64_t e = threadIdx.x; e < M; e += blockDim.x) {
    T numerator = 0;
    for (std::int64_t d = 0; d < D; ++d) {
      T& cell = S[d * M + e];
      cell += step_feature(phi, kv[d]) * vv[e];
      numerator += step_feature(phi, qv[d]) * cell;
    }
    out.row(b, h)[e] = numerator / denominator;
  }
  __syncthreads();  // every thread has read the old normaliser
  for (std::int64_t d = threadIdx.x; d < D; d += blockDim.x) z[d] += step_feature(phi, kv[d]);
}

void softmax_attention_step_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keys,
                                 const Tensor& values, std::int64_t length, const Tensor& out, double scale) {
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2);
  if (B * H == 0) return;
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "softmax_attention_step", [&]<typename T>() {
    const std::size_t shared = (static_cast<std::size_t>(kStepThreads / 32) * (M + 2)) * sizeof(T);
    softmax_step_kernel<T><<<static_cast<unsigned>(B * H), kStepThreads, shared, stream>>>(
        head_rows<T>(q), head_rows<T>(k), head_rows<T>(v), static_cast<T*>(keys.raw_data()),
        static_cast<T*>(values.raw_data()), head_rows<T>(out), H, D, M, keys.size(2), length, static_cast<T>(scale));
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void linear_attention_step_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& state,
                                const Tensor& normalizer, const Tensor& out, StepFeatureMap phi, double eps) {
  const std::int64_t B = q.size(0), H = q.size(1), D = q.size(2), M = v.size(2);
  if (B * H == 0) return;
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "linear_attention_step", [&]<typename T>() {
    linear_step_kernel<T><<<static_cast<unsigned>(B * H), kStepThreads, 0, stream>>>(
        head_rows<T>(q), head_rows<T>(k), head_rows<T>(v), static_cast<T*>(state.raw_data()),
        static_cast<T*>(normalizer.raw_data()), head_rows<T>(out), H, D, M, phi, static_cast<T>(eps));
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::softmax_attention_step_stub, DeviceType::CUDA, softmax_attention_step_cuda);
EMBER_REGISTER_KERNEL(kernels::linear_attention_step_stub, DeviceType::CUDA, linear_attention_step_cuda);

}  // namespace ember::cuda
