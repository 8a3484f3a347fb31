// CPU chunked causal linear attention (see ops/linear_attention.h for the algorithm).
// Heads run in parallel (one OpenMP thread per (b, h)); inside a head the chunks run in order and
// every product is a small GEMM through tile_engine.h (float32: simd.h's tiles, float64: BLAS).
// Per chunk of c rows, with Va = [V_c, 1] (c x (M+1)):
//   forward   A = tril(Q_c K_c^T);  num = Q_c S + A Va;  out = num[:, :M] / (num[:, M] + eps);
//             S += K_c^T Va
//   backward  G = [g / d, -(g . y) / d] (c x (M+1)), d = num[:, M] + eps saved by forward as 1/d;
//             pass 1 (forward order):  dQ_c = G S^T + tril(G Va^T) K_c;      S += K_c^T Va
//             pass 2 (reverse order):  dK_c = tril(G Va^T)^T Q_c + Va R^T;
//                                      dV_c = (A^T G + K_c R)[:, :M];          R += Q_c^T G
#include <algorithm>
#include <vector>

#include "ops/cpu/heads.h"
#include "ops/cpu/tile_engine.h"
#include "ops/linear_attention.h"

namespace ember::cpu {
namespace {

// Zeroes the strict upper triangle of the leading c x c block of a (ld-strided) matrix.
template <typename T>
void keep_lower(T* a, std::int64_t c, std::int64_t ld) {
  for (std::int64_t i = 0; i < c; ++i) std::fill(a + i * ld + i + 1, a + i * ld + c, T(0));
}

// Va = [V rows, 1] for rows [s, s + c).
template <typename T>
void augment_values(const HeadMatrix<T>& v, std::int64_t s, std::int64_t c, std::int64_t M, T* va) {
  const std::int64_t Ma = M + 1;
  for (std::int64_t i = 0; i < c; ++i) {
    std::copy(v.row(s + i), v.row(s + i) + M, va + i * Ma);
    va[i * Ma + M] = T(1);
  }
}

// Scratch space of one head, reused across its chunks.
template <typename T>
struct Workspace {
  std::int64_t C, D, M;
  std::vector<T> va, a, num, state, reverse_state, masked;
  Workspace(std::int64_t C_, std::int64_t D_, std::int64_t M_)
      : C(C_), D(D_), M(M_), va(C * (M + 1)), a(C * C), num(C * (M + 1)), state(D * (M + 1)),
        reverse_state(D * (M + 1)), masked(C * C) {}
};

// num = Q_c S + tril(Q_c K_c^T) Va for one chunk; leaves A = tril(Q_c K_c^T) in ws.a. The first
// chunk (s = 0) skips Q_c S: the state is still zero.
template <typename T, typename Engine>
void chunk_numerator(Engine& e, const HeadMatrix<T>& q, const HeadMatrix<T>& k, std::int64_t s, std::int64_t c,
                     Workspace<T>& ws) {
  const std::int64_t C = ws.C, D = ws.D, Ma = ws.M + 1;
  e.gemm(false, true, c, c, D, T(1), q.row(s), q.ld, k.row(s), k.ld, false, ws.a.data(), C);
  keep_lower(ws.a.data(), c, C);
  if (s > 0) e.gemm(false, false, c, Ma, D, T(1), q.row(s), q.ld, ws.state.data(), Ma, false, ws.num.data(), Ma);
  e.gemm(false, false, c, Ma, c, T(1), ws.a.data(), C, ws.va.data(), Ma, s > 0, ws.num.data(), Ma);
}

template <typename T, typename Engine>
void forward_head(Engine& e, const HeadMatrix<T>& q, const HeadMatrix<T>& k, const HeadMatrix<T>& v,
                  const HeadMatrix<T>& out, T* inv_denom, std::int64_t N, T eps, Workspace<T>& ws) {
  const std::int64_t C = ws.C, D = ws.D, M = ws.M, Ma = M + 1;
  std::fill(ws.state.begin(), ws.state.end(), T(0));
  for (std::int64_t s = 0; s < N; s += C) {
    const std::int64_t c = std::min(C, N - s);
    augment_values(v, s, c, M, ws.va.data());
    chunk_numerator(e, q, k, s, c, ws);
    for (std::int64_t i = 0; i < c; ++i) {
      const T* num = ws.num.data() + i * Ma;
      const T inv = T(1) / (num[M] + eps);
      inv_denom[s + i] = inv;
      T* y = out.row(s + i);
      for (std::int64_t m = 0; m < M; ++m) y[m] = num[m] * inv;
    }
    if (s + c < N) e.gemm(true, false, D, Ma, c, T(1), k.row(s), k.ld, ws.va.data(), Ma, true, ws.state.data(), Ma);
  }
}

template <typename T, typename Engine>
void backward_head(Engine& e, const HeadMatrix<T>& q, const HeadMatrix<T>& k, const HeadMatrix<T>& v,
                   const HeadMatrix<T>& out, const T* inv_denom, const HeadMatrix<T>& g,
                   const HeadMatrix<T>& dq, const HeadMatrix<T>& dk, const HeadMatrix<T>& dv, std::int64_t N,
                   Workspace<T>& ws, std::vector<T>& grad_aug) {
  const std::int64_t C = ws.C, D = ws.D, M = ws.M, Ma = M + 1;
  // Pass 1: the augmented output gradient G from the saved output and denominators, the state S
  // rebuilt chunk by chunk, and dQ.
  std::fill(ws.state.begin(), ws.state.end(), T(0));
  for (std::int64_t s = 0; s < N; s += C) {
    const std::int64_t c = std::min(C, N - s);
    augment_values(v, s, c, M, ws.va.data());
    T* G = grad_aug.data() + s * Ma;
    for (std::int64_t i = 0; i < c; ++i) {
      const T* gi = g.row(s + i);
      const T* yi = out.row(s + i);
      const T inv = inv_denom[s + i];
      T g_dot_y = 0;
      for (std::int64_t m = 0; m < M; ++m) {
        G[i * Ma + m] = gi[m] * inv;
        g_dot_y += gi[m] * yi[m];
      }
      G[i * Ma + M] = -g_dot_y * inv;
    }
    // The state is zero in the first chunk and not needed after the last.
    if (s > 0) e.gemm(false, true, c, D, Ma, T(1), G, Ma, ws.state.data(), Ma, false, dq.row(s), dq.ld);
    e.gemm(false, true, c, c, Ma, T(1), G, Ma, ws.va.data(), Ma, false, ws.masked.data(), C);
    keep_lower(ws.masked.data(), c, C);
    e.gemm(false, false, c, D, c, T(1), ws.masked.data(), C, k.row(s), k.ld, s > 0, dq.row(s), dq.ld);
    if (s + c < N) e.gemm(true, false, D, Ma, c, T(1), k.row(s), k.ld, ws.va.data(), Ma, true, ws.state.data(), Ma);
  }
  // Pass 2: chunks in reverse, carrying R = sum over later rows of q_i G_i^T.
  std::fill(ws.reverse_state.begin(), ws.reverse_state.end(), T(0));
  const std::int64_t last = ((N - 1) / C) * C;
  for (std::int64_t s = last; s >= 0; s -= C) {
    const std::int64_t c = std::min(C, N - s);
    augment_values(v, s, c, M, ws.va.data());
    const T* G = grad_aug.data() + s * Ma;
    T* R = ws.reverse_state.data();
    e.gemm(false, true, c, c, Ma, T(1), G, Ma, ws.va.data(), Ma, false, ws.masked.data(), C);
    keep_lower(ws.masked.data(), c, C);
    // R is zero in the last chunk (visited first) and not needed after the first.
    const bool has_later = s + c < N;
    e.gemm(true, false, c, D, c, T(1), ws.masked.data(), C, q.row(s), q.ld, false, dk.row(s), dk.ld);
    if (has_later) e.gemm(false, true, c, D, Ma, T(1), ws.va.data(), Ma, R, Ma, true, dk.row(s), dk.ld);
    e.gemm(false, true, c, c, D, T(1), q.row(s), q.ld, k.row(s), k.ld, false, ws.a.data(), C);
    keep_lower(ws.a.data(), c, C);
    e.gemm(true, false, c, M, c, T(1), ws.a.data(), C, G, Ma, false, dv.row(s), dv.ld);
    if (has_later) e.gemm(false, false, c, M, D, T(1), k.row(s), k.ld, R, Ma, true, dv.row(s), dv.ld);
    if (s > 0) e.gemm(true, false, D, Ma, c, T(1), q.row(s), q.ld, G, Ma, true, R, Ma);
  }
}

void forward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& inv_denom,
                 double eps, std::int64_t chunk) {
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = v.size(3);
  if (N == 0) return;
  const std::int64_t C = std::min(chunk, N);
  with_engine(q.dtype(), "causal_linear_attention", [&]<typename T>(const auto& engine) {
#pragma omp parallel
    {
      Workspace<T> ws(C, D, M);
      auto e = engine;  // one per thread
#pragma omp for schedule(dynamic)
      for (std::int64_t bh = 0; bh < B * H; ++bh) {
        const std::int64_t b = bh / H, h = bh % H;
        forward_head<T>(e, head<T>(q, b, h), head<T>(k, b, h), head<T>(v, b, h), head<T>(out, b, h),
                        inv_denom.data_ptr<T>() + bh * N, N, static_cast<T>(eps), ws);
      }
    }
  });
}

void backward_cpu(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& inv_denom,
                  const Tensor& g, const Tensor& dq, const Tensor& dk, const Tensor& dv, double /*eps: in inv_denom*/,
                  std::int64_t chunk) {
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = v.size(3);
  if (N == 0) return;
  const std::int64_t C = std::min(chunk, N);
  with_engine(q.dtype(), "causal_linear_attention backward", [&]<typename T>(const auto& engine) {
#pragma omp parallel
    {
      Workspace<T> ws(C, D, M);
      auto e = engine;  // one per thread
      std::vector<T> grad_aug(N * (M + 1));
#pragma omp for schedule(dynamic)
      for (std::int64_t bh = 0; bh < B * H; ++bh) {
        const std::int64_t b = bh / H, h = bh % H;
        backward_head<T>(e, head<T>(q, b, h), head<T>(k, b, h), head<T>(v, b, h), head<T>(out, b, h),
                         inv_denom.data_ptr<T>() + bh * N, head<T>(g, b, h), head<T>(dq, b, h),
                         head<T>(dk, b, h), head<T>(dv, b, h), N, ws, grad_aug);
      }
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_stub, DeviceType::CPU, forward_cpu);
EMBER_REGISTER_KERNEL(kernels::causal_linear_attention_backward_stub, DeviceType::CPU, backward_cpu);

}  // namespace ember::cpu
