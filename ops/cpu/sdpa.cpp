// CPU fused softmax attention (see ops/sdpa.h), blocked like flash attention so the N x N scores
// never exist whole: per (head, block of kBlock queries), key blocks of kBlock are scored with one
// tile GEMM, folded into a running max / sum / output (online softmax), and dropped. Forward saves
// only the log-sum-exp. Backward runs one head per thread (so dQ, dK, dV need no locks), key
// blocks outside, query blocks inside, recomputing each score block from q, k and that lse:
//   P = exp(S - lse), dV += P_d^T G, dP = G V^T, dS = P (dP_d - rowsum(G o out)),
//   dQ += scale dS K, dK += scale dS^T Q      (P_d, dP_d: with the dropout mask applied)
//
// The tile products and row steps go through tile_engine.h (float32: simd.h's register-tiled GEMM
// and polynomial exp; float64: BLAS and std::exp). Keys (and, in backward, values) are read
// transposed per block, (D, kBlock) contiguous, so no tile product has a transposed B.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/heads.h"
#include "ops/cpu/philox_lanes.h"
#include "ops/cpu/tile_engine.h"
#include "ops/sdpa.h"

namespace ember::cpu {
namespace {

constexpr std::int64_t kBlock = 64;  // queries and keys per tile: a 64 x 64 float tile is 16 KB (L1)

using kernels::SdpaParams;

// Keys visible to row `query` of a block starting at key j0: [j0, j0 + result).
inline std::int64_t visible_keys(const SdpaParams& p, std::int64_t query, std::int64_t j0, std::int64_t block) {
  return p.causal ? std::clamp<std::int64_t>(query - j0 + 1, 0, block) : block;
}

std::int64_t key_length(const Tensor& key_lengths, std::int64_t b, std::int64_t Nk) {
  if (!key_lengths.defined()) return Nk;
  return std::clamp<std::int64_t>(key_lengths.data_ptr<std::int64_t>()[b], 0, Nk);
}

// dst (cols x count, row stride kBlock) = the first `count` rows of src (count x cols) transposed.
template <typename T>
void transpose_block(const HeadMatrix<T>& src, std::int64_t first, std::int64_t count, std::int64_t cols, T* dst) {
  for (std::int64_t r = 0; r < count; ++r) {
    const T* row = src.row(first + r);
    for (std::int64_t c = 0; c < cols; ++c) dst[c * kBlock + r] = row[c];
  }
}

// The dropout factors of one row of n scores whose first has counter row_base (see ops/sdpa.h):
// factors[j] = 1/(1-p) where score j is kept, else 0. Eight counters per vector Philox call.
template <typename T>
void dropout_factors(const SdpaParams& p, std::uint64_t row_base, std::int64_t n, T* factors) {
  const T inv_keep = static_cast<T>(1.0 / (1.0 - p.dropout_p));
  std::uint32_t w[4][kPhiloxLanes];
  for (std::int64_t j0 = 0; j0 < n; j0 += kPhiloxLanes) {
    philox8(p.seed, p.offset + row_base + static_cast<std::uint64_t>(j0), w);
    const int count = static_cast<int>(std::min<std::int64_t>(kPhiloxLanes, n - j0));
    for (int l = 0; l < count; ++l)
      factors[j0 + l] = 1.0 - philox_uniform(w[0][l], w[1][l]) >= p.dropout_p ? inv_keep : T(0);
  }
}

template <typename T>
void multiply(T* x, const T* factors, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) x[j] *= factors[j];
}

template <typename T>
struct ForwardWorkspace {
  std::vector<T> scores, acc, row_max, row_sum;
  explicit ForwardWorkspace(std::int64_t M)
      : scores(kBlock * kBlock), acc(kBlock * M), row_max(kBlock), row_sum(kBlock) {}
};

// One block of `rows` queries from i0 against all its visible keys. keys_t: this head's keys,
// transposed per key block ((D, kBlock) each, one after another).
template <typename T, typename Engine>
void forward_block(Engine& e, const HeadMatrix<T>& q, const T* keys_t, const HeadMatrix<T>& v,
                   const HeadMatrix<T>& out, T* lse, std::int64_t i0, std::int64_t rows, std::int64_t key_len,
                   std::int64_t D, std::int64_t M, std::uint64_t score_base, std::int64_t Nk, const SdpaParams& p,
                   ForwardWorkspace<T>& ws) {
  const T scale = static_cast<T>(p.scale), neg_inf = -std::numeric_limits<T>::infinity();
  std::fill(ws.acc.begin(), ws.acc.begin() + rows * M, T(0));
  std::fill(ws.row_max.begin(), ws.row_max.end(), neg_inf);
  std::fill(ws.row_sum.begin(), ws.row_sum.end(), T(0));
  const std::int64_t key_end = p.causal ? std::min(key_len, i0 + rows) : key_len;
  for (std::int64_t j0 = 0; j0 < key_end; j0 += kBlock) {
    const std::int64_t cols = std::min(kBlock, key_end - j0);
    T* S = ws.scores.data();  // (rows, cols), row stride kBlock
    e.gemm(false, false, rows, cols, D, scale, q.row(i0), q.ld, keys_t + j0 * D, kBlock, false, S, kBlock);
    for (std::int64_t i = 0; i < rows; ++i) {
      T* s = S + i * kBlock;
      const std::int64_t limit = visible_keys(p, i0 + i, j0, cols);
      std::fill(s + limit, s + cols, T(0));
      if (limit == 0) continue;
      const T new_max = std::max(ws.row_max[i], e.max(s, limit));
      const T rescale = std::exp(ws.row_max[i] - new_max);  // 0 on the first visible block
      const T block_sum = e.exp_shifted_sum(s, limit, new_max);
      if (p.dropout_p > 0) {
        T factors[kBlock];
        dropout_factors(p, score_base + static_cast<std::uint64_t>((i0 + i) * Nk + j0), limit, factors);
        multiply(s, factors, limit);
      }
      ws.row_sum[i] = ws.row_sum[i] * rescale + block_sum;
      ws.row_max[i] = new_max;
      if (rescale != T(1)) e.scale(ws.acc.data() + i * M, M, rescale);
    }
    e.gemm(false, false, rows, M, cols, T(1), S, kBlock, v.row(j0), v.ld, true, ws.acc.data(), M);
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    T* o = out.row(i0 + i);
    const T* a = ws.acc.data() + i * M;
    const T l = ws.row_sum[i];
    const T inv = l > 0 ? T(1) / l : T(0);
    for (std::int64_t m = 0; m < M; ++m) o[m] = a[m] * inv;
    lse[i0 + i] = l > 0 ? ws.row_max[i] + std::log(l) : neg_inf;
  }
}

template <typename T, typename Engine>
void forward(const Engine& engine, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
             const Tensor& out, const Tensor& lse, const SdpaParams& p) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3), Nk = k.size(2), M = v.size(3);
  const std::int64_t query_blocks = (Nq + kBlock - 1) / kBlock, key_blocks = (Nk + kBlock - 1) / kBlock;
  const std::int64_t head_keys = key_blocks * kBlock * D;  // one head's transposed keys
  std::vector<T> keys_t(static_cast<std::size_t>(B * H * head_keys));
  T* lse_data = lse.data_ptr<T>();
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (std::int64_t task = 0; task < B * H * key_blocks; ++task) {
      const std::int64_t bh = task / key_blocks, j0 = (task % key_blocks) * kBlock;
      transpose_block(head<T>(k, bh / H, bh % H), j0, std::min(kBlock, Nk - j0), D,
                      keys_t.data() + bh * head_keys + j0 * D);
    }
    ForwardWorkspace<T> ws(M);
    Engine e = engine;  // one per thread
    // Causal blocks near the end do more work: dynamic scheduling balances them.
#pragma omp for schedule(dynamic)
    for (std::int64_t task = 0; task < B * H * query_blocks; ++task) {
      const std::int64_t bh = task / query_blocks, i0 = (task % query_blocks) * kBlock;
      const std::int64_t b = bh / H, h = bh % H;
      forward_block<T>(e, head<T>(q, b, h), keys_t.data() + bh * head_keys, head<T>(v, b, h), head<T>(out, b, h),
                       lse_data + bh * Nq, i0, std::min(kBlock, Nq - i0), key_length(key_lengths, b, Nk), D, M,
                       static_cast<std::uint64_t>(bh * Nq * Nk), Nk, p, ws);
    }
  }
}

template <typename T>
void zero_rows(const HeadMatrix<T>& m, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t i = 0; i < rows; ++i) std::fill(m.row(i), m.row(i) + cols, T(0));
}

template <typename T>
struct BackwardWorkspace {
  std::vector<T> probs, dscores, keys_t, values_t, delta;
  BackwardWorkspace(std::int64_t Nq, std::int64_t D, std::int64_t M)
      : probs(kBlock * kBlock), dscores(kBlock * kBlock), keys_t(D * kBlock), values_t(M * kBlock), delta(Nq) {}
};

template <typename T, typename Engine>
void backward_head(Engine& e, const HeadMatrix<T>& q, const HeadMatrix<T>& k, const HeadMatrix<T>& v,
                   const HeadMatrix<T>& out, const T* lse, const HeadMatrix<T>& g, const HeadMatrix<T>& dq,
                   const HeadMatrix<T>& dk, const HeadMatrix<T>& dv, std::int64_t Nq, std::int64_t Nk,
                   std::int64_t key_len, std::int64_t D, std::int64_t M, std::uint64_t score_base, const SdpaParams& p,
                   BackwardWorkspace<T>& ws) {
  const T scale = static_cast<T>(p.scale);
  zero_rows(dq, Nq, D);
  zero_rows(dk, Nk, D);
  zero_rows(dv, Nk, M);
  for (std::int64_t i = 0; i < Nq; ++i) {  // delta_i = rowsum(g_i o out_i)
    T acc = 0;
    for (std::int64_t m = 0; m < M; ++m) acc += g.row(i)[m] * out.row(i)[m];
    ws.delta[i] = acc;
  }
  for (std::int64_t j0 = 0; j0 < key_len; j0 += kBlock) {
    const std::int64_t cols = std::min(kBlock, key_len - j0);
    transpose_block(k, j0, cols, D, ws.keys_t.data());
    transpose_block(v, j0, cols, M, ws.values_t.data());
    const std::int64_t first_query = p.causal ? j0 : 0;  // kBlock-aligned, as query blocks are
    for (std::int64_t i0 = first_query; i0 < Nq; i0 += kBlock) {
      const std::int64_t rows = std::min(kBlock, Nq - i0);
      T* P = ws.probs.data();     // scores, then softmax weights (with dropout: the dropped weights)
      T* dS = ws.dscores.data();  // G V^T, then the score gradients
      e.gemm(false, false, rows, cols, D, scale, q.row(i0), q.ld, ws.keys_t.data(), kBlock, false, P, kBlock);
      e.gemm(false, false, rows, cols, M, T(1), g.row(i0), g.ld, ws.values_t.data(), kBlock, false, dS, kBlock);
      for (std::int64_t i = 0; i < rows; ++i) {
        T* pr = P + i * kBlock;
        T* ds = dS + i * kBlock;
        const T row_lse = lse[i0 + i];
        const std::int64_t limit = std::isinf(row_lse) ? 0 : visible_keys(p, i0 + i, j0, cols);
        if (p.dropout_p > 0) {
          // dS = P (dP_d - delta) with dP_d = mask o dP: P is needed undropped first.
          T factors[kBlock];
          dropout_factors(p, score_base + static_cast<std::uint64_t>((i0 + i) * Nk + j0), limit, factors);
          for (std::int64_t j = 0; j < limit; ++j) pr[j] = std::exp(pr[j] - row_lse);
          multiply(ds, factors, limit);
          for (std::int64_t j = 0; j < limit; ++j) ds[j] = pr[j] * (ds[j] - ws.delta[i0 + i]);
          multiply(pr, factors, limit);
        } else {
          e.softmax_grad(pr, ds, limit, row_lse, ws.delta[i0 + i]);
        }
        std::fill(pr + limit, pr + cols, T(0));
        std::fill(ds + limit, ds + cols, T(0));
      }
      e.gemm(true, false, cols, M, rows, T(1), P, kBlock, g.row(i0), g.ld, true, dv.row(j0), dv.ld);
      e.gemm(false, false, rows, D, cols, scale, dS, kBlock, k.row(j0), k.ld, true, dq.row(i0), dq.ld);
      e.gemm(true, false, cols, D, rows, scale, dS, kBlock, q.row(i0), q.ld, true, dk.row(j0), dk.ld);
    }
  }
}

template <typename T, typename Engine>
void backward(const Engine& engine, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
              const Tensor& out, const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk,
              const Tensor& dv, const SdpaParams& p) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3), Nk = k.size(2), M = v.size(3);
  const T* lse_data = lse.data_ptr<T>();
#pragma omp parallel
  {
    BackwardWorkspace<T> ws(Nq, D, M);
    Engine e = engine;  // one per thread
#pragma omp for schedule(dynamic)
    for (std::int64_t bh = 0; bh < B * H; ++bh) {
      const std::int64_t b = bh / H, h = bh % H;
      backward_head<T>(e, head<T>(q, b, h), head<T>(k, b, h), head<T>(v, b, h), head<T>(out, b, h),
                       lse_data + bh * Nq, head<T>(g, b, h), head<T>(dq, b, h), head<T>(dk, b, h), head<T>(dv, b, h),
                       Nq, Nk, key_length(key_lengths, b, Nk), D, M, static_cast<std::uint64_t>(bh * Nq * Nk), p, ws);
    }
  }
}

void forward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                 const Tensor& lse, const SdpaParams& p) {
  with_engine(q.dtype(), "scaled_dot_product_attention", [&]<typename T>(const auto& engine) {
    forward<T>(engine, q, k, v, key_lengths, out, lse, p);
  });
}

void backward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                  const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                  const SdpaParams& p) {
  with_engine(q.dtype(), "scaled_dot_product_attention backward", [&]<typename T>(const auto& engine) {
    backward<T>(engine, q, k, v, key_lengths, out, lse, g, dq, dk, dv, p);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sdpa_forward_stub, DeviceType::CPU, forward_cpu);
EMBER_REGISTER_KERNEL(kernels::sdpa_backward_stub, DeviceType::CPU, backward_cpu);

}  // namespace ember::cpu
