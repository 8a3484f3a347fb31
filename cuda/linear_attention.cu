// CUDA chunked causal linear attention (the algorithm and its notation are in
// ops/linear_attention.h and ops/cpu/linear_attention.cpp; this is the same math):
//   forward   A = tril(Q_c K_c^T);  num = Q_c S + A Va;  out = num[:, :M] / (num[:, M] + eps);
//             S += K_c^T Va                                    (Va = [V_c, 1], S is D x (M+1))
//   backward  pass 1 (forward order): G = [g / d, -(g . y) / d];  dQ_c = G S^T + tril(G Va^T) K_c
//             pass 2 (reverse order): dK_c = tril(G Va^T)^T Q_c + Va R^T;
//                                     dV_c = (A^T G + K_c R)[:, :M];   R += Q_c^T G
//
// One thread block per (b, h) walks the chunks in order. The chunk's tiles (Q_c, K_c, Va, and the
// c x c and c x (M+1) products) live in shared memory with rows padded by one element against
// bank conflicts; the state S (and R) stays in a global workspace of D x (M+1) per head, which
// the block alone reads and writes (ordered by __syncthreads). Pass 1 stores G for pass 2 in a
// global (B*H, N, M+1) buffer, so memory stays O(N). The chunk length may be smaller than
// requested so that the tiles fit in shared memory; in exact arithmetic the result is the same.
// Parallelism is only B*H blocks: simple and correct, not tuned.
#include "core/factory.h"
#include "cuda/common.cuh"
#include "ops/linear_attention.h"

namespace ember::cuda {
namespace {

// Offsets (in elements) of the shared tiles of one chunk of c rows.
struct Tiles {
  int c, ld_d, ld_a, ld_c;  // chunk rows; padded row lengths of D-, (M+1)- and c-wide tiles
  int q, k, v, num, g, a, masked;  // tile offsets; -1 where a kernel does not use the tile
  int total;

  // forward: q, k, v, num, a. pass 1 adds g (masked reuses a). pass 2: q, k, v, g, a, masked.
  static Tiles make(int c, int D, int Ma, int pass) {
    Tiles t{c, D + 1, Ma + 1, c + 1, -1, -1, -1, -1, -1, -1, -1, 0};
    auto take = [&t](int elements) {
      const int at = t.total;
      t.total += elements;
      return at;
    };
    t.q = take(c * t.ld_d);
    t.k = take(c * t.ld_d);
    t.v = take(c * t.ld_a);
    if (pass != 2) t.num = take(c * t.ld_a);
    if (pass != 0) t.g = take(c * t.ld_a);
    t.a = take(c * t.ld_c);
    t.masked = pass == 2 ? take(c * t.ld_c) : t.a;
    return t;
  }
};

// Q_c, K_c and Va = [V_c, 1] for rows [s, s + cc) into shared memory.
template <typename T>
__device__ void load_chunk(T* sm, const Tiles& t, const T* q, const T* k, const T* v, std::int64_t sq,
                           std::int64_t sk, std::int64_t sv, std::int64_t s, int cc, int D, int M) {
  for (int e = threadIdx.x; e < cc * D; e += blockDim.x) {
    const int i = e / D, d = e % D;
    sm[t.q + i * t.ld_d + d] = q[(s + i) * sq + d];
    sm[t.k + i * t.ld_d + d] = k[(s + i) * sk + d];
  }
  for (int e = threadIdx.x; e < cc * (M + 1); e += blockDim.x) {
    const int i = e / (M + 1), m = e % (M + 1);
    sm[t.v + i * t.ld_a + m] = m < M ? v[(s + i) * sv + m] : T(1);
  }
}

// out[i][j] = j <= i ? x_i . y_j : 0 for i, j < cc (x, y: cc rows of `len` with row length ld).
template <typename T>
__device__ void causal_products(T* out, int ld_out, const T* x, const T* y, int ld, int len, int cc) {
  for (int e = threadIdx.x; e < cc * cc; e += blockDim.x) {
    const int i = e / cc, j = e % cc;
    T acc = 0;
    if (j <= i)
      for (int d = 0; d < len; ++d) acc += x[i * ld + d] * y[j * ld + d];
    out[i * ld_out + j] = acc;
  }
}

// num = Q_c S + A Va, (cc x Ma), with S (D x Ma) row-major in global memory.
template <typename T>
__device__ void chunk_numerator(T* sm, const Tiles& t, const T* S, int cc, int D, int Ma) {
  for (int e = threadIdx.x; e < cc * Ma; e += blockDim.x) {
    const int i = e / Ma, m = e % Ma;
    T acc = 0;
    for (int d = 0; d < D; ++d) acc += sm[t.q + i * t.ld_d + d] * S[d * Ma + m];
    for (int j = 0; j <= i; ++j) acc += sm[t.a + i * t.ld_c + j] * sm[t.v + j * t.ld_a + m];
    sm[t.num + i * t.ld_a + m] = acc;
  }
}

// state (D x Ma, global) += X^T Y for the chunk's cc rows of X (ld_x-strided, D wide) and Y
// (ld_a-strided, Ma wide).
template <typename T>
__device__ void add_outer_products(T* state, const T* x, int ld_x, const T* y, int ld_y, int cc, int D, int Ma) {
  for (int e = threadIdx.x; e < D * Ma; e += blockDim.x) {
    const int d = e / Ma, m = e % Ma;
    T acc = state[e];
    for (int j = 0; j < cc; ++j) acc += x[j * ld_x + d] * y[j * ld_y + m];
    state[e] = acc;
  }
}

template <typename T>
__device__ void zero(T* p, int n) {
  for (int e = threadIdx.x; e < n; e += blockDim.x) p[e] = T(0);
}

template <typename T>
__global__ void forward_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<T> out, T* inv_denom,
                               T* states, int H, std::int64_t N, int D, int M, Tiles t, T eps) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const int Ma = M + 1, b = blockIdx.x / H, h = blockIdx.x % H;
  const T* qh = q.head(b, h);
  const T* kh = k.head(b, h);
  const T* vh = v.head(b, h);
  T* oh = out.head(b, h);
  T* S = states + static_cast<std::int64_t>(blockIdx.x) * D * Ma;
  zero(S, D * Ma);
  for (std::int64_t s = 0; s < N; s += t.c) {
    const int cc = static_cast<int>(N - s < t.c ? N - s : t.c);
    __syncthreads();  // the previous chunk is done with the tiles and S
    load_chunk(sm, t, qh, kh, vh, q.stride_n, k.stride_n, v.stride_n, s, cc, D, M);
    __syncthreads();
    causal_products(sm + t.a, t.ld_c, sm + t.q, sm + t.k, t.ld_d, D, cc);
    __syncthreads();
    chunk_numerator(sm, t, S, cc, D, Ma);
    __syncthreads();
    for (int e = threadIdx.x; e < cc * M; e += blockDim.x) {
      const int i = e / M, m = e % M;
      const T inv = T(1) / (sm[t.num + i * t.ld_a + M] + eps);
      oh[(s + i) * out.stride_n + m] = sm[t.num + i * t.ld_a + m] * inv;
      if (m == 0) inv_denom[static_cast<std::int64_t>(blockIdx.x) * N + s + i] = inv;
    }
    add_outer_products(S, sm + t.k, t.ld_d, sm + t.v, t.ld_a, cc, D, Ma);
  }
}

// Pass 1: recomputes the forward, writes G (to grad_aug) and dQ.
template <typename T>
__global__ void backward_dq_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<const T> g, Heads<T> dq,
                                   T* states, T* grad_aug, int H, std::int64_t N, int D, int M, Tiles t, T eps) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const int Ma = M + 1, b = blockIdx.x / H, h = blockIdx.x % H;
  const T* qh = q.head(b, h);
  const T* kh = k.head(b, h);
  const T* vh = v.head(b, h);
  const T* gh = g.head(b, h);
  T* dqh = dq.head(b, h);
  T* S = states + static_cast<std::int64_t>(blockIdx.x) * D * Ma;
  T* G_all = grad_aug + static_cast<std::int64_t>(blockIdx.x) * N * Ma;
  zero(S, D * Ma);
  for (std::int64_t s = 0; s < N; s += t.c) {
    const int cc = static_cast<int>(N - s < t.c ? N - s : t.c);
    __syncthreads();
    load_chunk(sm, t, qh, kh, vh, q.stride_n, k.stride_n, v.stride_n, s, cc, D, M);
    __syncthreads();
    causal_products(sm + t.a, t.ld_c, sm + t.q, sm + t.k, t.ld_d, D, cc);
    __syncthreads();
    chunk_numerator(sm, t, S, cc, D, Ma);
    __syncthreads();
    // G = [g / d, -(g . y) / d] with d = num[:, M] + eps and y = num[:, :M] / d.
    for (int e = threadIdx.x; e < cc * M; e += blockDim.x) {
      const int i = e / M, m = e % M;
      const T inv = T(1) / (sm[t.num + i * t.ld_a + M] + eps);
      sm[t.g + i * t.ld_a + m] = gh[(s + i) * g.stride_n + m] * inv;
    }
    for (int i = threadIdx.x; i < cc; i += blockDim.x) {
      const T inv = T(1) / (sm[t.num + i * t.ld_a + M] + eps);
      T g_dot_y = 0;
      for (int m = 0; m < M; ++m) g_dot_y += gh[(s + i) * g.stride_n + m] * sm[t.num + i * t.ld_a + m] * inv;
      sm[t.g + i * t.ld_a + M] = -g_dot_y * inv;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < cc * Ma; e += blockDim.x) {
      const int i = e / Ma, m = e % Ma;
      G_all[(s + i) * Ma + m] = sm[t.g + i * t.ld_a + m];
    }
    causal_products(sm + t.masked, t.ld_c, sm + t.g, sm + t.v, t.ld_a, Ma, cc);  // tril(G Va^T)
    __syncthreads();
    for (int e = threadIdx.x; e < cc * D; e += blockDim.x) {
      const int i = e / D, d = e % D;
      T acc = 0;
      for (int m = 0; m < Ma; ++m) acc += sm[t.g + i * t.ld_a + m] * S[d * Ma + m];
      for (int j = 0; j <= i; ++j) acc += sm[t.masked + i * t.ld_c + j] * sm[t.k + j * t.ld_d + d];
      dqh[(s + i) * dq.stride_n + d] = acc;
    }
    __syncthreads();  // dQ has read S
    add_outer_products(S, sm + t.k, t.ld_d, sm + t.v, t.ld_a, cc, D, Ma);
  }
}

// Pass 2: chunks in reverse, carrying R = sum over later rows of q_i G_i^T; writes dK and dV.
template <typename T>
__global__ void backward_dkdv_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<T> dk, Heads<T> dv,
                                     T* states, const T* grad_aug, int H, std::int64_t N, int D, int M, Tiles t) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const int Ma = M + 1, b = blockIdx.x / H, h = blockIdx.x % H;
  const T* qh = q.head(b, h);
  const T* kh = k.head(b, h);
  const T* vh = v.head(b, h);
  T* dkh = dk.head(b, h);
  T* dvh = dv.head(b, h);
  T* R = states + static_cast<std::int64_t>(blockIdx.x) * D * Ma;
  const T* G_all = grad_aug + static_cast<std::int64_t>(blockIdx.x) * N * Ma;
  zero(R, D * Ma);
  for (std::int64_t s = (N - 1) / t.c * t.c; s >= 0; s -= t.c) {
    const int cc = static_cast<int>(N - s < t.c ? N - s : t.c);
    __syncthreads();
    load_chunk(sm, t, qh, kh, vh, q.stride_n, k.stride_n, v.stride_n, s, cc, D, M);
    for (int e = threadIdx.x; e < cc * Ma; e += blockDim.x) {
      const int i = e / Ma, m = e % Ma;
      sm[t.g + i * t.ld_a + m] = G_all[(s + i) * Ma + m];
    }
    __syncthreads();
    causal_products(sm + t.masked, t.ld_c, sm + t.g, sm + t.v, t.ld_a, Ma, cc);  // tril(G Va^T)
    causal_products(sm + t.a, t.ld_c, sm + t.q, sm + t.k, t.ld_d, D, cc);        // tril(Q K^T)
    __syncthreads();
    for (int e = threadIdx.x; e < cc * D; e += blockDim.x) {
      const int i = e / D, d = e % D;
      T acc = 0;
      for (int j = i; j < cc; ++j) acc += sm[t.masked + j * t.ld_c + i] * sm[t.q + j * t.ld_d + d];
      for (int m = 0; m < Ma; ++m) acc += sm[t.v + i * t.ld_a + m] * R[d * Ma + m];
      dkh[(s + i) * dk.stride_n + d] = acc;
    }
    for (int e = threadIdx.x; e < cc * M; e += blockDim.x) {
      const int i = e / M, m = e % M;
      T acc = 0;
      for (int j = i; j < cc; ++j) acc += sm[t.a + j * t.ld_c + i] * sm[t.g + j * t.ld_a + m];
      for (int d = 0; d < D; ++d) acc += sm[t.k + i * t.ld_d + d] * R[d * Ma + m];
      dvh[(s + i) * dv.stride_n + m] = acc;
    }
    __syncthreads();  // dK and dV have read R
    add_outer_products(R, sm + t.q, t.ld_d, sm + t.g, t.ld_a, cc, D, Ma);
  }
}

constexpr int kThreads = 256;

// The longest chunk up to `requested` whose tiles fit in the device's shared memory (the kernel
// is allowed to use it all).
template <typename T, typename Kernel>
Tiles fit_tiles(Kernel kernel, int device, std::int64_t requested, std::int64_t N, int D, int Ma, int pass) {
  const std::size_t limit = properties(device).sharedMemPerBlockOptin;
  for (int c = static_cast<int>(std::min(requested, N)); c >= 1; c = c > 8 ? c * 3 / 4 : c - 1) {
    const Tiles t = Tiles::make(c, D, Ma, pass);
    const std::size_t bytes = static_cast<std::size_t>(t.total) * sizeof(T);
    if (bytes <= limit) {
      // The device's whole limit rather than `bytes`: the setting is per kernel and process-wide, so
      // a call from another thread with smaller tiles cannot shrink it under this launch.
      EMBER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(limit)));
      return t;
    }
  }
  fail("causal_linear_attention: head sizes D = {}, M = {} need more shared memory than the GPU has ({} bytes)", D,
       Ma - 1, limit);
}

void forward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& inv_denom,
                  double eps, std::int64_t chunk) {
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2);
  const int D = static_cast<int>(q.size(3)), M = static_cast<int>(v.size(3));
  if (N == 0 || B * H == 0) return;
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "causal_linear_attention", [&]<typename T>() {
    const Tiles t = fit_tiles<T>(forward_kernel<T>, q.device().index, chunk, N, D, M + 1, 0);
    Tensor states = empty({B * H, D, M + 1}, TensorOptions(q.dtype(), q.device()));
    forward_kernel<T><<<static_cast<unsigned>(B * H), kThreads, t.total * sizeof(T), stream>>>(
        heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<T>(out), static_cast<T*>(inv_denom.raw_data()),
        static_cast<T*>(states.raw_data()), static_cast<int>(H), N, D, M, t, static_cast<T>(eps));
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

// The dQ pass recomputes the numerators in shared memory (cheaper there than reading the saved
// output and denominators back), so out and inv_denom are not read.
void backward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& /*out*/,
                   const Tensor& /*inv_denom*/, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                   double eps, std::int64_t chunk) {
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2);
  const int D = static_cast<int>(q.size(3)), M = static_cast<int>(v.size(3));
  if (N == 0 || B * H == 0) return;
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "causal_linear_attention backward", [&]<typename T>() {
    const TensorOptions opts(q.dtype(), q.device());
    Tensor states = empty({B * H, D, M + 1}, opts), grad_aug = empty({B * H, N, M + 1}, opts);
    const Tiles t1 = fit_tiles<T>(backward_dq_kernel<T>, q.device().index, chunk, N, D, M + 1, 1);
    backward_dq_kernel<T><<<static_cast<unsigned>(B * H), kThreads, t1.total * sizeof(T), stream>>>(
        heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<const T>(g), heads<T>(dq),
        static_cast<T*>(states.raw_data()), static_cast<T*>(grad_aug.raw_data()), static_cast<int>(H), N, D, M, t1,
        static_cast<T>(eps));
    EMBER_CUDA_CHECK_LAUNCH();
    const Tiles t2 = fit_tiles<T>(backward_dkdv_kernel<T>, q.device().index, chunk, N, D, M + 1, 2);
    backward_dkdv_kernel<T><<<static_cast<unsigned>(B * H), kThreads, t2.total * sizeof(T), stream>>>(
        heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<T>(dk), heads<T>(dv),
        static_cast<T*>(states.raw_data()), static_cast<const T*>(grad_aug.raw_data()), static_cast<int>(H), N, D, M,
        t2);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_stub, DeviceType::CUDA, forward_cuda);
EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_backward_stub, DeviceType::CUDA, backward_cuda);

}  // namespace ember::cuda
