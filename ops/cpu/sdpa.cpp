// CPU fused softmax attention (see ops/sdpa.h), blocked like flash attention so the N x N scores
// never exist whole: per (head, block of kQueryBlock queries), key blocks of kKeyBlock are scored
// with one GEMM, folded into a running max / sum / output (online softmax), and dropped.
// Backward runs one head per thread (so dQ, dK, dV need no locks), recomputing each score block
// from q, k and the saved log-sum-exp:
//   P = exp(S - lse), dV += P_d^T G, dP = G V^T, dS = P (dP_d - rowsum(G o out)),
//   dQ += scale dS K, dK += scale dS^T Q      (P_d, dP_d: with the dropout mask applied)
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/blas.h"
#include "ops/cpu/heads.h"
#include "ops/sdpa.h"

namespace ember::cpu {
namespace {

constexpr std::int64_t kQueryBlock = 64;
constexpr std::int64_t kKeyBlock = 64;

using kernels::SdpaParams;

// Keys visible to row `query` of a block starting at key j0: [j0, j0 + result).
inline std::int64_t visible_keys(const SdpaParams& p, std::int64_t query, std::int64_t j0, std::int64_t block) {
  return p.causal ? std::clamp<std::int64_t>(query - j0 + 1, 0, block) : block;
}

// Dropout keep decision for score (bh, i, j), identical on every device (see ops/sdpa.h).
inline bool keep(const SdpaParams& p, std::uint64_t counter) {
  auto w = philox(p.seed, p.offset + counter);
  return 1.0 - philox_uniform(w[0], w[1]) >= p.dropout_p;
}

std::int64_t key_length(const Tensor& key_lengths, std::int64_t b, std::int64_t Nk) {
  if (!key_lengths.defined()) return Nk;
  return std::clamp<std::int64_t>(key_lengths.data_ptr<std::int64_t>()[b], 0, Nk);
}

template <typename T>
struct ForwardWorkspace {
  std::vector<T> scores, acc, row_max, row_sum;
  ForwardWorkspace(std::int64_t M)
      : scores(kQueryBlock * kKeyBlock), acc(kQueryBlock * M), row_max(kQueryBlock), row_sum(kQueryBlock) {}
};

template <typename T>
void forward_block(const HeadMatrix<T>& q, const HeadMatrix<T>& k, const HeadMatrix<T>& v, const HeadMatrix<T>& out,
                   T* lse, std::int64_t i0, std::int64_t rows, std::int64_t key_len, std::int64_t D, std::int64_t M,
                   std::uint64_t score_base, std::int64_t Nk, const SdpaParams& p, ForwardWorkspace<T>& ws) {
  const T scale = static_cast<T>(p.scale), neg_inf = -std::numeric_limits<T>::infinity();
  const T inv_keep = static_cast<T>(1.0 / (1.0 - p.dropout_p));
  std::fill(ws.acc.begin(), ws.acc.begin() + rows * M, T(0));
  std::fill(ws.row_max.begin(), ws.row_max.end(), neg_inf);
  std::fill(ws.row_sum.begin(), ws.row_sum.end(), T(0));
  const std::int64_t key_end = p.causal ? std::min(key_len, i0 + rows) : key_len;
  for (std::int64_t j0 = 0; j0 < key_end; j0 += kKeyBlock) {
    const std::int64_t cols = std::min(kKeyBlock, key_end - j0);
    T* S = ws.scores.data();
    gemm<T>(false, true, rows, cols, D, scale, q.row(i0), q.ld, k.row(j0), k.ld, T(0), S, kKeyBlock);
    for (std::int64_t i = 0; i < rows; ++i) {
      T* s = S + i * kKeyBlock;
      const std::int64_t limit = visible_keys(p, i0 + i, j0, cols);
      if (limit == 0) {
        std::fill(s, s + cols, T(0));
        continue;
      }
      const T block_max = *std::max_element(s, s + limit);
      const T new_max = std::max(ws.row_max[i], block_max);
      const T rescale = std::exp(ws.row_max[i] - new_max);  // 0 on the first visible block
      T block_sum = 0;
      for (std::int64_t j = 0; j < limit; ++j) {
        s[j] = std::exp(s[j] - new_max);
        block_sum += s[j];
      }
      if (p.dropout_p > 0) {
        const std::uint64_t row_base = score_base + static_cast<std::uint64_t>((i0 + i) * Nk + j0);
        for (std::int64_t j = 0; j < limit; ++j) s[j] = keep(p, row_base + j) ? s[j] * inv_keep : T(0);
      }
      std::fill(s + limit, s + cols, T(0));
      ws.row_sum[i] = ws.row_sum[i] * rescale + block_sum;
      ws.row_max[i] = new_max;
      T* a = ws.acc.data() + i * M;
      for (std::int64_t m = 0; m < M; ++m) a[m] *= rescale;
    }
    gemm<T>(false, false, rows, M, cols, T(1), S, kKeyBlock, v.row(j0), v.ld, T(1), ws.acc.data(), M);
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

template <typename T>
void forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
             const Tensor& lse, const SdpaParams& p) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3), Nk = k.size(2), M = v.size(3);
  const std::int64_t blocks = (Nq + kQueryBlock - 1) / kQueryBlock;
  T* lse_data = lse.data_ptr<T>();
#pragma omp parallel
  {
    ForwardWorkspace<T> ws(M);
    // Causal blocks near the end do more work: dynamic scheduling balances them.
#pragma omp for schedule(dynamic)
    for (std::int64_t task = 0; task < B * H * blocks; ++task) {
      const std::int64_t bh = task / blocks, i0 = (task % blocks) * kQueryBlock;
      const std::int64_t b = bh / H, h = bh % H;
      forward_block<T>(head<T>(q, b, h), head<T>(k, b, h), head<T>(v, b, h), head<T>(out, b, h), lse_data + bh * Nq,
                       i0, std::min(kQueryBlock, Nq - i0), key_length(key_lengths, b, Nk), D, M,
                       static_cast<std::uint64_t>(bh * Nq * Nk), Nk, p, ws);
    }
  }
}

template <typename T>
void zero_rows(const HeadMatrix<T>& m, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t i = 0; i < rows; ++i) std::fill(m.row(i), m.row(i) + cols, T(0));
}

template <typename T>
void backward_head(const HeadMatrix<T>& q, const HeadMatrix<T>& k, const HeadMatrix<T>& v, const HeadMatrix<T>& out,
                   const T* lse, const HeadMatrix<T>& g, const HeadMatrix<T>& dq, const HeadMatrix<T>& dk,
                   const HeadMatrix<T>& dv, std::int64_t Nq, std::int64_t Nk, std::int64_t key_len, std::int64_t D,
                   std::int64_t M, std::uint64_t score_base, const SdpaParams& p, std::vector<T>& probs,
                   std::vector<T>& dscores, std::vector<T>& delta) {
  const T scale = static_cast<T>(p.scale), inv_keep = static_cast<T>(1.0 / (1.0 - p.dropout_p));
  zero_rows(dq, Nq, D);
  zero_rows(dk, Nk, D);
  zero_rows(dv, Nk, M);
  for (std::int64_t i = 0; i < Nq; ++i) {  // delta_i = rowsum(g_i o out_i)
    T acc = 0;
    for (std::int64_t m = 0; m < M; ++m) acc += g.row(i)[m] * out.row(i)[m];
    delta[i] = acc;
  }
  const bool dropout = p.dropout_p > 0;
  for (std::int64_t j0 = 0; j0 < key_len; j0 += kKeyBlock) {
    const std::int64_t cols = std::min(kKeyBlock, key_len - j0);
    const std::int64_t first_query = p.causal ? j0 / kQueryBlock * kQueryBlock : 0;
    for (std::int64_t i0 = first_query; i0 < Nq; i0 += kQueryBlock) {
      const std::int64_t rows = std::min(kQueryBlock, Nq - i0);
      T* P = probs.data();      // softmax weights, then (with dropout) the dropped weights
      T* dS = dscores.data();
      gemm<T>(false, true, rows, cols, D, scale, q.row(i0), q.ld, k.row(j0), k.ld, T(0), P, kKeyBlock);
      // dP_d = G V^T, needed before P is overwritten by the dropped weights.
      gemm<T>(false, true, rows, cols, M, T(1), g.row(i0), g.ld, v.row(j0), v.ld, T(0), dS, kKeyBlock);
      for (std::int64_t i = 0; i < rows; ++i) {
        T* pr = P + i * kKeyBlock;
        T* ds = dS + i * kKeyBlock;
        const T row_lse = lse[i0 + i];
        const std::int64_t limit = std::isinf(row_lse) ? 0 : visible_keys(p, i0 + i, j0, cols);
        const std::uint64_t row_base = score_base + static_cast<std::uint64_t>((i0 + i) * Nk + j0);
        for (std::int64_t j = 0; j < limit; ++j) {
          const T prob = std::exp(pr[j] - row_lse);
          T dprob = ds[j];
          T dropped = prob;
          if (dropout) {
            const bool kept = keep(p, row_base + j);
            dprob = kept ? dprob * inv_keep : T(0);
            dropped = kept ? prob * inv_keep : T(0);
          }
          ds[j] = prob * (dprob - delta[i0 + i]);
          pr[j] = dropped;
        }
        std::fill(pr + limit, pr + cols, T(0));
        std::fill(ds + limit, ds + cols, T(0));
      }
      gemm<T>(true, false, cols, M, rows, T(1), P, kKeyBlock, g.row(i0), g.ld, T(1), dv.row(j0), dv.ld);
      gemm<T>(false, false, rows, D, cols, scale, dS, kKeyBlock, k.row(j0), k.ld, T(1), dq.row(i0), dq.ld);
      gemm<T>(true, false, cols, D, rows, scale, dS, kKeyBlock, q.row(i0), q.ld, T(1), dk.row(j0), dk.ld);
    }
  }
}

template <typename T>
void backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
              const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
              const SdpaParams& p) {
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3), Nk = k.size(2), M = v.size(3);
  const T* lse_data = lse.data_ptr<T>();
#pragma omp parallel
  {
    std::vector<T> probs(kQueryBlock * kKeyBlock), dscores(kQueryBlock * kKeyBlock), delta(Nq);
#pragma omp for schedule(dynamic)
    for (std::int64_t bh = 0; bh < B * H; ++bh) {
      const std::int64_t b = bh / H, h = bh % H;
      backward_head<T>(head<T>(q, b, h), head<T>(k, b, h), head<T>(v, b, h), head<T>(out, b, h), lse_data + bh * Nq,
                       head<T>(g, b, h), head<T>(dq, b, h), head<T>(dk, b, h), head<T>(dv, b, h), Nq, Nk,
                       key_length(key_lengths, b, Nk), D, M, static_cast<std::uint64_t>(bh * Nq * Nk), p, probs,
                       dscores, delta);
    }
  }
}

void forward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                 const Tensor& lse, const SdpaParams& p) {
  dispatch_floating(q.dtype(), "scaled_dot_product_attention",
                    [&]<typename T>() { forward<T>(q, k, v, key_lengths, out, lse, p); });
}

void backward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& out,
                  const Tensor& lse, const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                  const SdpaParams& p) {
  dispatch_floating(q.dtype(), "scaled_dot_product_attention backward",
                    [&]<typename T>() { backward<T>(q, k, v, key_lengths, out, lse, g, dq, dk, dv, p); });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sdpa_forward_stub, DeviceType::CPU, forward_cpu);
EMBER_REGISTER_KERNEL(kernels::sdpa_backward_stub, DeviceType::CPU, backward_cpu);

}  // namespace ember::cpu
