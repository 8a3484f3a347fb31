// CUDA fused scaled dot-product attention, flash-attention style (the contract, masking and
// dropout counter scheme are in ops/sdpa.h). Float32 and float64; the N x N matrix is never
// written to memory. bfloat16 goes to cuDNN (cuda/cudnn_sdpa.cpp) or, where cuDNN does not take
// the case, through these kernels on float32 copies.
//
// Forward: one block per (b, h, block of queries). For each block of keys it computes the score
// tile in shared memory, updates each query row's running max m and sum l (online softmax), and
// rescales-and-accumulates O += P V; at the end out = O / l and lse = m + log l. Causal attention
// stops at the diagonal block; key_lengths stops at the sequence's length.
//
// Backward recomputes P = exp(scale q k^T - lse) tile by tile, with delta_i = dO_i . out_i:
//   dV_j = sum_i P~_ij dO_i,   dP~_ij = dO_i . v_j,   dS_ij = P_ij (dP~_ij Z_ij - delta_i),
//   dK_j = scale sum_i dS_ij q_i,   dQ_i = scale sum_j dS_ij k_j
// where Z_ij is the dropout factor (0 or 1/(1-p)) and P~ = P Z. To stay deterministic without
// atomics it runs two kernels: one block per key block accumulates dK and dV over the query
// blocks, and one block per query block accumulates dQ over the key blocks (recomputing P: more
// arithmetic, no float atomics).
//
// Tiles are square (the same block of rows for queries and keys), sized to fit shared memory,
// with rows padded by one element against bank conflicts. Every thread loops over tile elements;
// this is a straightforward kernel, not a tuned one.
#include "core/factory.h"
#include "core/random.h"
#include "cuda/attention_paths.h"
#include "cuda/common.cuh"
#include "ops/copy.h"
#include "ops/sdpa.h"
#ifdef EMBER_WITH_CUDNN
#include "cuda/cudnn_sdpa.h"
#endif

namespace ember::cuda {
namespace {

// Everything a kernel needs to know about the problem besides the tensors.
struct Problem {
  int H, D, M;
  std::int64_t Nq, Nk;
  bool causal;
  double scale;
  double dropout_p;
  std::uint64_t seed, offset;
  const std::int64_t* key_lengths;  // null when absent

  __device__ std::int64_t length(std::int64_t b) const { return key_lengths ? key_lengths[b] : Nk; }
  __device__ bool masked(std::int64_t i, std::int64_t j, std::int64_t len) const {
    return j >= len || (causal && j > i);
  }
  // The dropout counter scheme of ops/sdpa.h.
  __device__ bool kept(std::int64_t bh, std::int64_t i, std::int64_t j) const {
    if (dropout_p == 0) return true;
    const auto w = philox(seed, offset + static_cast<std::uint64_t>((bh * Nq + i) * Nk + j));
    return 1.0 - philox_uniform(w[0], w[1]) >= dropout_p;
  }
};

// Offsets (in elements) of one kernel's shared tiles; `block` rows per tile.
struct Tiles {
  int block, ld_d, ld_m, ld_p;
  int q = -1, k = -1, v = -1, p = -1, dp = -1, o = -1, dq = -1, dk = -1, dv = -1, d_out = -1;
  int row_a = -1, row_b = -1, row_c = -1;  // per-row statistics
  int total = 0;

  enum Kind { kForward, kKeyGrads, kQueryGrads };

  static Tiles make(int block, int D, int M, Kind kind) {
    Tiles t{block, D + 1, M + 1, block + 1};
    auto take = [&t](int elements) {
      const int at = t.total;
      t.total += elements;
      return at;
    };
    const int d_tile = block * t.ld_d, m_tile = block * t.ld_m, p_tile = block * t.ld_p;
    t.q = take(d_tile);
    t.k = take(d_tile);
    t.v = take(m_tile);
    if (kind != kQueryGrads) t.p = take(p_tile);  // the (dropped-out) weights
    if (kind == kForward) {
      t.o = take(m_tile);
      t.row_c = take(block);  // the row's rescaling factor for this key block
    } else {
      t.dp = take(p_tile);
      t.d_out = take(m_tile);
      if (kind == kKeyGrads) {
        t.dk = take(d_tile);
        t.dv = take(m_tile);
      } else {
        t.dq = take(d_tile);
      }
    }
    t.row_a = take(block);  // forward: running max; backward: lse
    t.row_b = take(block);  // forward: running sum; backward: delta
    return t;
  }
};

// rows x width rows of a head (row stride `stride`) into a shared tile with row length ld.
template <typename T>
__device__ void load_rows(T* tile, int ld, const T* src, std::int64_t stride, int rows, int width) {
  for (int e = threadIdx.x; e < rows * width; e += blockDim.x) {
    const int r = e / width, c = e % width;
    tile[r * ld + c] = src[r * stride + c];
  }
}

template <typename T>
__device__ T dot(const T* a, const T* b, int n) {
  T acc = 0;
  for (int d = 0; d < n; ++d) acc += a[d] * b[d];
  return acc;
}

template <typename T, typename Op>
__device__ T warp_all_reduce(T v, Op op) {
  return shuffle_from(warp_reduce(v, op), 0);
}

template <typename T>
__global__ void forward_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<T> out, T* lse, Problem pb,
                               Tiles t, std::int64_t query_blocks) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const std::int64_t bh = blockIdx.x / query_blocks, b = bh / pb.H, h = bh % pb.H;
  const std::int64_t row0 = blockIdx.x % query_blocks * t.block;
  const int rows = static_cast<int>(pb.Nq - row0 < t.block ? pb.Nq - row0 : t.block);
  const int D = pb.D, M = pb.M, lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const std::int64_t len = pb.length(b);
  std::int64_t kv_end = len < pb.Nk ? len : pb.Nk;
  if (pb.causal && row0 + rows < kv_end) kv_end = row0 + rows;
  T* Q = sm + t.q;
  T* K = sm + t.k;
  T* V = sm + t.v;
  T* P = sm + t.p;
  T* O = sm + t.o;
  T* row_max = sm + t.row_a;
  T* row_sum = sm + t.row_b;
  T* rescale = sm + t.row_c;
  load_rows(Q, t.ld_d, q.head(b, h) + row0 * q.stride_n, q.stride_n, rows, D);
  for (int e = threadIdx.x; e < rows * M; e += blockDim.x) O[e / M * t.ld_m + e % M] = T(0);
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    row_max[r] = lowest<T>();
    row_sum[r] = T(0);
  }
  const T scale = static_cast<T>(pb.scale), keep_scale = static_cast<T>(1.0 / (1.0 - pb.dropout_p));
  for (std::int64_t kv0 = 0; kv0 < kv_end; kv0 += t.block) {
    const int cols = static_cast<int>(kv_end - kv0 < t.block ? kv_end - kv0 : t.block);
    __syncthreads();  // the previous block is done with K, V and P
    load_rows(K, t.ld_d, k.head(b, h) + kv0 * k.stride_n, k.stride_n, cols, D);
    load_rows(V, t.ld_m, v.head(b, h) + kv0 * v.stride_n, v.stride_n, cols, M);
    __syncthreads();
    for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
      const int r = e / cols, c = e % cols;
      P[r * t.ld_p + c] = pb.masked(row0 + r, kv0 + c, len) ? lowest<T>() : scale * dot(Q + r * t.ld_d, K + c * t.ld_d, D);
    }
    __syncthreads();
    // Online softmax, a warp per row: P becomes the (dropped-out) weights relative to the new max.
    for (int r = warp; r < rows; r += warps) {
      T* pr = P + r * t.ld_p;
      T block_max = lowest<T>();
      for (int c = lane; c < cols; c += 32) block_max = Max{}(block_max, pr[c]);
      block_max = warp_all_reduce(block_max, Max{});
      const T old_max = row_max[r], new_max = Max{}(old_max, block_max);
      const bool empty = new_max == lowest<T>();  // every key so far is masked
      T block_sum = 0;
      for (int c = lane; c < cols; c += 32) {
        const T p = empty ? T(0) : math::exp(pr[c] - new_max);
        block_sum += p;
        pr[c] = p != T(0) && pb.kept(bh, row0 + r, kv0 + c) ? p * keep_scale : T(0);
      }
      block_sum = warp_all_reduce(block_sum, Sum{});
      if (lane == 0) {
        const T alpha = empty ? T(1) : math::exp(old_max - new_max);
        rescale[r] = alpha;
        row_sum[r] = row_sum[r] * alpha + block_sum;
        row_max[r] = new_max;
      }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < rows * M; e += blockDim.x) {
      const int r = e / M, m = e % M;
      T acc = O[r * t.ld_m + m] * rescale[r];
      for (int c = 0; c < cols; ++c) acc += P[r * t.ld_p + c] * V[c * t.ld_m + m];
      O[r * t.ld_m + m] = acc;
    }
  }
  __syncthreads();
  T* out_rows = out.head(b, h) + row0 * out.stride_n;
  for (int e = threadIdx.x; e < rows * M; e += blockDim.x) {
    const int r = e / M, m = e % M;
    const T l = row_sum[r];
    out_rows[r * out.stride_n + m] = l > T(0) ? O[r * t.ld_m + m] / l : T(0);
  }
  for (int r = threadIdx.x; r < rows; r += blockDim.x)
    lse[bh * pb.Nq + row0 + r] = row_sum[r] > T(0) ? row_max[r] + math::log(row_sum[r]) : lowest<T>();
}

// delta_i = dO_i . out_i over all B*H*Nq rows, a warp per row.
template <typename T>
__global__ void delta_kernel(Heads<const T> g, Heads<const T> out, T* delta, Problem pb, std::int64_t total_rows) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * warps;
  for (std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * warps + threadIdx.x / 32; row < total_rows;
       row += stride) {
    const std::int64_t bh = row / pb.Nq, i = row % pb.Nq, b = bh / pb.H, h = bh % pb.H;
    const T* gr = g.head(b, h) + i * g.stride_n;
    const T* orow = out.head(b, h) + i * out.stride_n;
    T acc = 0;
    for (int m = lane; m < pb.M; m += 32) acc += gr[m] * orow[m];
    acc = warp_reduce(acc, Sum{});
    if (lane == 0) delta[row] = acc;
  }
}

// For the tile of query rows [q0, q0 + rows) and keys [k0, k0 + cols) already in shared memory:
// dS = P (dP~ Z - delta) into tile dp, and (when `keep_weights`) P~ = P Z into tile p.
template <typename T>
__device__ void tile_gradients(T* sm, const Tiles& t, const Problem& pb, std::int64_t bh, std::int64_t len,
                               std::int64_t q0, int rows, std::int64_t k0, int cols, bool keep_weights) {
  const T scale = static_cast<T>(pb.scale), keep_scale = static_cast<T>(1.0 / (1.0 - pb.dropout_p));
  for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
    const int r = e / cols, c = e % cols;
    const std::int64_t i = q0 + r, j = k0 + c;
    const T lse = sm[t.row_a + r];
    T p = 0;
    if (!pb.masked(i, j, len) && lse != lowest<T>())
      p = math::exp(scale * dot(sm + t.q + r * t.ld_d, sm + t.k + c * t.ld_d, pb.D) - lse);
    const T z = p != T(0) && pb.kept(bh, i, j) ? keep_scale : T(0);  // p == 0: z is irrelevant
    const T dp = dot(sm + t.d_out + r * t.ld_m, sm + t.v + c * t.ld_m, pb.M);
    sm[t.dp + r * t.ld_p + c] = p * (dp * z - sm[t.row_b + r]);
    if (keep_weights) sm[t.p + r * t.ld_p + c] = p * z;
  }
}

// Query rows [q0, q0 + rows): q, dO, lse and delta into shared memory.
template <typename T>
__device__ void load_query_rows(T* sm, const Tiles& t, const Heads<const T>& q, const Heads<const T>& g, const T* lse,
                                const T* delta, const Problem& pb, std::int64_t bh, std::int64_t q0, int rows) {
  const std::int64_t b = bh / pb.H, h = bh % pb.H;
  load_rows(sm + t.q, t.ld_d, q.head(b, h) + q0 * q.stride_n, q.stride_n, rows, pb.D);
  load_rows(sm + t.d_out, t.ld_m, g.head(b, h) + q0 * g.stride_n, g.stride_n, rows, pb.M);
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    sm[t.row_a + r] = lse[bh * pb.Nq + q0 + r];
    sm[t.row_b + r] = delta[bh * pb.Nq + q0 + r];
  }
}

// dK and dV for one block of keys, accumulated over the query blocks that can see it.
template <typename T>
__global__ void key_grads_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<const T> g, const T* lse,
                                 const T* delta, Heads<T> dk, Heads<T> dv, Problem pb, Tiles t, std::int64_t key_blocks) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const std::int64_t bh = blockIdx.x / key_blocks, b = bh / pb.H, h = bh % pb.H;
  const std::int64_t k0 = blockIdx.x % key_blocks * t.block;
  const int cols = static_cast<int>(pb.Nk - k0 < t.block ? pb.Nk - k0 : t.block);
  const int D = pb.D, M = pb.M;
  const std::int64_t len = pb.length(b);
  T* dK = sm + t.dk;
  T* dV = sm + t.dv;
  load_rows(sm + t.k, t.ld_d, k.head(b, h) + k0 * k.stride_n, k.stride_n, cols, D);
  load_rows(sm + t.v, t.ld_m, v.head(b, h) + k0 * v.stride_n, v.stride_n, cols, M);
  for (int e = threadIdx.x; e < cols * D; e += blockDim.x) dK[e / D * t.ld_d + e % D] = T(0);
  for (int e = threadIdx.x; e < cols * M; e += blockDim.x) dV[e / M * t.ld_m + e % M] = T(0);
  const T scale = static_cast<T>(pb.scale);
  // Causal: queries before k0 see none of these keys. Keys past the length get no gradient.
  const std::int64_t q_begin = pb.causal ? k0 : 0, q_end = k0 < len ? pb.Nq : 0;
  for (std::int64_t q0 = q_begin; q0 < q_end; q0 += t.block) {
    const int rows = static_cast<int>(pb.Nq - q0 < t.block ? pb.Nq - q0 : t.block);
    __syncthreads();  // the previous query block is done with its tiles
    load_query_rows(sm, t, q, g, lse, delta, pb, bh, q0, rows);
    __syncthreads();
    tile_gradients(sm, t, pb, bh, len, q0, rows, k0, cols, true);
    __syncthreads();
    for (int e = threadIdx.x; e < cols * M; e += blockDim.x) {
      const int c = e / M, m = e % M;
      T acc = 0;
      for (int r = 0; r < rows; ++r) acc += sm[t.p + r * t.ld_p + c] * sm[t.d_out + r * t.ld_m + m];
      dV[c * t.ld_m + m] += acc;
    }
    for (int e = threadIdx.x; e < cols * D; e += blockDim.x) {
      const int c = e / D, d = e % D;
      T acc = 0;
      for (int r = 0; r < rows; ++r) acc += sm[t.dp + r * t.ld_p + c] * sm[t.q + r * t.ld_d + d];
      dK[c * t.ld_d + d] += scale * acc;
    }
  }
  __syncthreads();
  T* dk_rows = dk.head(b, h) + k0 * dk.stride_n;
  T* dv_rows = dv.head(b, h) + k0 * dv.stride_n;
  for (int e = threadIdx.x; e < cols * D; e += blockDim.x) dk_rows[e / D * dk.stride_n + e % D] = dK[e / D * t.ld_d + e % D];
  for (int e = threadIdx.x; e < cols * M; e += blockDim.x) dv_rows[e / M * dv.stride_n + e % M] = dV[e / M * t.ld_m + e % M];
}

// dQ for one block of queries, accumulated over the key blocks it can see.
template <typename T>
__global__ void query_grads_kernel(Heads<const T> q, Heads<const T> k, Heads<const T> v, Heads<const T> g,
                                   const T* lse, const T* delta, Heads<T> dq, Problem pb, Tiles t,
                                   std::int64_t query_blocks) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* sm = reinterpret_cast<T*>(shared_bytes);
  const std::int64_t bh = blockIdx.x / query_blocks, b = bh / pb.H, h = bh % pb.H;
  const std::int64_t q0 = blockIdx.x % query_blocks * t.block;
  const int rows = static_cast<int>(pb.Nq - q0 < t.block ? pb.Nq - q0 : t.block);
  const int D = pb.D, M = pb.M;
  const std::int64_t len = pb.length(b);
  std::int64_t kv_end = len < pb.Nk ? len : pb.Nk;
  if (pb.causal && q0 + rows < kv_end) kv_end = q0 + rows;
  T* dQ = sm + t.dq;
  load_query_rows(sm, t, q, g, lse, delta, pb, bh, q0, rows);
  for (int e = threadIdx.x; e < rows * D; e += blockDim.x) dQ[e / D * t.ld_d + e % D] = T(0);
  const T scale = static_cast<T>(pb.scale);
  for (std::int64_t k0 = 0; k0 < kv_end; k0 += t.block) {
    const int cols = static_cast<int>(kv_end - k0 < t.block ? kv_end - k0 : t.block);
    __syncthreads();  // the previous key block is done with its tiles
    load_rows(sm + t.k, t.ld_d, k.head(b, h) + k0 * k.stride_n, k.stride_n, cols, D);
    load_rows(sm + t.v, t.ld_m, v.head(b, h) + k0 * v.stride_n, v.stride_n, cols, M);
    __syncthreads();
    tile_gradients(sm, t, pb, bh, len, q0, rows, k0, cols, false);
    __syncthreads();
    for (int e = threadIdx.x; e < rows * D; e += blockDim.x) {
      const int r = e / D, d = e % D;
      T acc = 0;
      for (int c = 0; c < cols; ++c) acc += sm[t.dp + r * t.ld_p + c] * sm[t.k + c * t.ld_d + d];
      dQ[r * t.ld_d + d] += scale * acc;
    }
  }
  __syncthreads();
  T* dq_rows = dq.head(b, h) + q0 * dq.stride_n;
  for (int e = threadIdx.x; e < rows * D; e += blockDim.x) dq_rows[e / D * dq.stride_n + e % D] = dQ[e / D * t.ld_d + e % D];
}

constexpr int kThreads = 256;

// The largest square tile (64 rows at most) whose shared memory fits, preferring a size that
// leaves room for two blocks per SM (the kernel is allowed to use all of the device's).
template <typename T, typename Kernel>
Tiles fit_tiles(Kernel kernel, int device, int D, int M, Tiles::Kind kind) {
  const std::size_t limit = properties(device).sharedMemPerBlockOptin;
  for (std::size_t budget : {std::min<std::size_t>(limit, 100 * 1024), limit}) {
    for (int block = 64; block >= 1; block /= 2) {
      const Tiles t = Tiles::make(block, D, M, kind);
      const std::size_t bytes = static_cast<std::size_t>(t.total) * sizeof(T);
      if (bytes > budget) continue;
      // The device's whole limit rather than `bytes`: the setting is per kernel and process-wide, so
      // a call from another thread with smaller tiles cannot shrink it under this launch.
      EMBER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(limit)));
      return t;
    }
  }
  fail("scaled_dot_product_attention: head sizes D = {}, M = {} need more shared memory than the GPU has ({} bytes)",
       D, M, limit);
}

Problem make_problem(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                     const kernels::SdpaParams& params) {
  Problem pb{};
  pb.H = static_cast<int>(q.size(1));
  pb.D = static_cast<int>(q.size(3));
  pb.M = static_cast<int>(v.size(3));
  pb.Nq = q.size(2);
  pb.Nk = k.size(2);
  pb.causal = params.causal;
  pb.scale = params.scale;
  pb.dropout_p = params.dropout_p;
  pb.seed = params.seed;
  pb.offset = params.offset;
  pb.key_lengths = key_lengths.defined() ? static_cast<const std::int64_t*>(key_lengths.raw_data()) : nullptr;
  return pb;
}

unsigned blocks_for(std::int64_t heads, std::int64_t rows, int block, std::int64_t& per_head) {
  per_head = (rows + block - 1) / block;
  const std::int64_t total = heads * per_head;
  EMBER_CHECK(total <= std::int64_t{0x7FFFFFFF}, "scaled_dot_product_attention: {} thread blocks is too many", total);
  return static_cast<unsigned>(total);
}

void run_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                 const Tensor& lse, const kernels::SdpaParams& params) {
  const std::int64_t BH = q.size(0) * q.size(1), Nq = q.size(2);
  if (BH * Nq == 0) return;
  const Problem pb = make_problem(q, k, v, key_lengths, params);
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "scaled_dot_product_attention", [&]<typename T>() {
    const Tiles t = fit_tiles<T>(forward_kernel<T>, q.device().index, pb.D, pb.M, Tiles::kForward);
    std::int64_t query_blocks = 0;
    const unsigned grid = blocks_for(BH, Nq, t.block, query_blocks);
    forward_kernel<T><<<grid, kThreads, t.total * sizeof(T), stream>>>(
        heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<T>(out), static_cast<T*>(lse.raw_data()), pb, t,
        query_blocks);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void run_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                  const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                  const kernels::SdpaParams& params) {
  const std::int64_t BH = q.size(0) * q.size(1), Nq = q.size(2), Nk = k.size(2);
  if (BH == 0) return;
  const Problem pb = make_problem(q, k, v, key_lengths, params);
  cudaStream_t stream = launch_stream(q.device());
  dispatch_floating(q.dtype(), "scaled_dot_product_attention backward", [&]<typename T>() {
    Tensor delta = empty({BH * Nq}, TensorOptions(q.dtype(), q.device()));
    const T* pl = static_cast<const T*>(lse.raw_data());
    const T* pd = static_cast<const T*>(delta.raw_data());
    if (Nq > 0) {
      delta_kernel<T><<<grid_size(BH * Nq * 32), kThreads, 0, stream>>>(heads<const T>(g), heads<const T>(out),
                                                                       static_cast<T*>(delta.raw_data()), pb, BH * Nq);
      EMBER_CUDA_CHECK_LAUNCH();
    }
    if (Nk > 0) {
      const Tiles t = fit_tiles<T>(key_grads_kernel<T>, q.device().index, pb.D, pb.M, Tiles::kKeyGrads);
      std::int64_t key_blocks = 0;
      const unsigned grid = blocks_for(BH, Nk, t.block, key_blocks);
      key_grads_kernel<T><<<grid, kThreads, t.total * sizeof(T), stream>>>(
          heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<const T>(g), pl, pd, heads<T>(dk),
          heads<T>(dv), pb, t, key_blocks);
      EMBER_CUDA_CHECK_LAUNCH();
    }
    if (Nq > 0) {
      const Tiles t = fit_tiles<T>(query_grads_kernel<T>, q.device().index, pb.D, pb.M, Tiles::kQueryGrads);
      std::int64_t query_blocks = 0;
      const unsigned grid = blocks_for(BH, Nq, t.block, query_blocks);
      query_grads_kernel<T><<<grid, kThreads, t.total * sizeof(T), stream>>>(
          heads<const T>(q), heads<const T>(k), heads<const T>(v), heads<const T>(g), pl, pd, heads<T>(dq), pb, t,
          query_blocks);
      EMBER_CUDA_CHECK_LAUNCH();
    }
  });
}

Tensor widened(const Tensor& t) { return t.detach().to(kFloat32); }

// Float32 scratch with the layout of `like` (heads last), for results handed back in bfloat16.
Tensor float_heads_last(const Tensor& like) {
  return empty_heads_last(like.size(0), like.size(1), like.size(2), like.size(3),
                          TensorOptions(kFloat32, like.device()));
}

// bfloat16 runs cuDNN's fused attention when it takes the case, else this file's kernel on
// float32 copies (the log-sum-exp is float32 either way, so the two paths can be mixed between
// forward and backward).
void sdpa_forward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                       const Tensor& lse, const kernels::SdpaParams& params) {
  if (q.dtype() != kBFloat16) return run_forward(q, k, v, key_lengths, out, lse, params);
  const bool cudnn_ran =
#ifdef EMBER_WITH_CUDNN
      cudnn_sdpa_forward(q, k, v, key_lengths, out, lse, params);
#else
      false;
#endif
  count_attention_path(cudnn_ran, /*backward=*/false);
  if (cudnn_ran) return;
  Tensor out32 = float_heads_last(out);
  run_forward(widened(q), widened(k), widened(v), key_lengths, out32, lse, params);
  kernels::copy_stub(q.device())(out32, out);
}

void sdpa_backward_cuda(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                        const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                        const kernels::SdpaParams& params) {
  if (q.dtype() != kBFloat16) return run_backward(q, k, v, key_lengths, out, lse, g, dq, dk, dv, params);
  const bool cudnn_ran =
#ifdef EMBER_WITH_CUDNN
      cudnn_sdpa_backward(q, k, v, key_lengths, out, lse, g, dq, dk, dv, params);
#else
      false;
#endif
  count_attention_path(cudnn_ran, /*backward=*/true);
  if (cudnn_ran) return;
  Tensor dq32 = float_heads_last(dq), dk32 = float_heads_last(dk), dv32 = float_heads_last(dv);
  run_backward(widened(q), widened(k), widened(v), key_lengths, widened(out), lse, widened(g), dq32, dk32, dv32,
               params);
  const Device device = q.device();
  kernels::copy_stub(device)(dq32, dq);
  kernels::copy_stub(device)(dk32, dk);
  kernels::copy_stub(device)(dv32, dv);
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sdpa_forward_stub, DeviceType::CUDA, sdpa_forward_cuda);
EMBER_REGISTER_KERNEL(kernels::sdpa_backward_stub, DeviceType::CUDA, sdpa_backward_cuda);

}  // namespace ember::cuda
