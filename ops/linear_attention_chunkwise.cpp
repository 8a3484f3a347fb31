// Chunkwise-parallel causal linear attention (see linear_attention_chunkwise.h), and the
// chunk_exclusive_scan dispatch table.
#include "ops/linear_attention_chunkwise.h"

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"

namespace ember {

namespace kernels {
constinit DispatchStub<chunk_exclusive_scan_fn> chunk_exclusive_scan_stub("chunk_exclusive_scan");
}  // namespace kernels

namespace chunkwise {
namespace {

// The problem's sizes: B H heads of N rows, padded to T chunks of C rows.
struct Sizes {
  std::int64_t B, H, N, D, M, C, T;
  std::int64_t padded() const { return T * C; }
  std::int64_t chunks() const { return B * H * T; }
};

Sizes sizes_of(const Tensor& q, const Tensor& v, std::int64_t chunk) {
  const std::int64_t N = q.size(2), C = std::min(chunk, N);
  return {q.size(0), q.size(1), N, q.size(3), v.size(3), C, (N + C - 1) / C};
}

// x (B, H, N, X) zero-padded to whole chunks, as (B H T, C, X).
Tensor chunked(const Tensor& x, const Sizes& s) {
  Tensor padded = zeros({s.B, s.H, s.padded(), x.size(3)}, TensorOptions(x.dtype(), x.device()));
  padded.narrow(2, 0, s.N).copy_(x);
  return padded.view({s.chunks(), s.C, x.size(3)});
}

// [v, 1] zero-padded to whole chunks, as (B H T, C, M + 1).
Tensor chunked_values(const Tensor& v, const Sizes& s) {
  const TensorOptions opts(v.dtype(), v.device());
  Tensor padded = zeros({s.B, s.H, s.padded(), s.M + 1}, opts);
  Tensor rows = padded.narrow(2, 0, s.N);
  rows.narrow(3, 0, s.M).copy_(v);
  rows.narrow(3, s.M, 1).copy_(ones({1}, opts));
  return padded.view({s.chunks(), s.C, s.M + 1});
}

Tensor transposed(const Tensor& x) { return x.transpose(-1, -2); }

// Writes src (broadcast, converted) into the caller's output view.
void write(Tensor dst, const Tensor& src) { dst.copy_(src); }

// Per-chunk increments (B H T, D, M + 1) turned in place into exclusive sums over the chunks
// before (after, when reverse) each one.
Tensor exclusive_scan(Tensor increments, const Sizes& s, bool reverse) {
  kernels::chunk_exclusive_scan_stub(increments.device())(increments.view({s.B * s.H, s.T, -1}), reverse);
  return increments;
}

// The intra-chunk products A = tril(Q_c K_c^T) and the states S_c entering each chunk.
struct Recomputed {
  Tensor q, k, va, A, S;
};

Recomputed recompute(const Tensor& q, const Tensor& k, const Tensor& v, const Sizes& s) {
  Recomputed r;
  r.q = chunked(q, s);                                                 // (BHT, C, D)
  r.k = chunked(k, s);                                                 // (BHT, C, D)
  r.va = chunked_values(v, s);                                         // (BHT, C, M + 1)
  r.A = tril(matmul(r.q, transposed(r.k)));                            // (BHT, C, C)
  r.S = exclusive_scan(matmul(transposed(r.k), r.va), s, false);       // (BHT, D, M + 1)
  return r;
}

// Ember's ops record no graph here, and the GEMMs keep the operands' precision.
struct KernelScope {
  NoGradGuard no_grad;
  AutocastGuard no_autocast{kBFloat16, false};
};

}  // namespace

void causal_linear_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                     const Tensor& inv_denom, double eps, std::int64_t chunk) {
  if (q.numel() == 0 || v.numel() == 0) return;
  KernelScope scope;
  const Sizes s = sizes_of(q, v, chunk);
  const Recomputed r = recompute(q, k, v, s);
  Tensor num = matmul(r.q, r.S) + matmul(r.A, r.va);  // (BHT, C, M + 1)
  Tensor rows = num.view({s.B, s.H, s.padded(), s.M + 1}).narrow(2, 0, s.N);
  Tensor inv = rdiv(add(rows.narrow(3, s.M, 1), eps), 1.0);  // (B, H, N, 1)
  write(out, mul(rows.narrow(3, 0, s.M), inv));
  write(inv_denom, inv.view({s.B, s.H, s.N}));
}

void causal_linear_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                      const Tensor& inv_denom, const Tensor& g, const Tensor& dq, const Tensor& dk,
                                      const Tensor& dv, double /*eps*/, std::int64_t chunk) {
  if (q.numel() == 0 || v.numel() == 0) {
    for (const Tensor* t : {&dq, &dk, &dv}) write(*t, zeros({1}, TensorOptions(t->dtype(), t->device())));
    return;
  }
  KernelScope scope;
  const Sizes s = sizes_of(q, v, chunk);
  const Recomputed r = recompute(q, k, v, s);
  // G = [g / d, -(g . out) / d]: the gradient of the numerators, zero-padded like va.
  const Tensor inv = inv_denom.view({s.B, s.H, s.N, 1});
  Tensor G = zeros({s.B, s.H, s.padded(), s.M + 1}, TensorOptions(q.dtype(), q.device()));
  Tensor G_rows = G.narrow(2, 0, s.N);
  G_rows.narrow(3, 0, s.M).copy_(mul(g, inv));
  G_rows.narrow(3, s.M, 1).copy_(neg(mul(sum(mul(g, out), {3}, /*keepdim=*/true), inv)));
  G = G.view({s.chunks(), s.C, s.M + 1});

  const Tensor P = tril(matmul(G, transposed(r.va)));                   // (BHT, C, C)
  const Tensor R = exclusive_scan(matmul(transposed(r.q), G), s, true);  // (BHT, D, M + 1)
  const Tensor dq_c = matmul(G, transposed(r.S)) + matmul(P, r.k);      // (BHT, C, D)
  const Tensor dk_c = matmul(transposed(P), r.q) + matmul(r.va, transposed(R));
  const Tensor dva_c = matmul(transposed(r.A), G) + matmul(r.k, R);     // (BHT, C, M + 1)
  write(dq, dq_c.view({s.B, s.H, s.padded(), s.D}).narrow(2, 0, s.N));
  write(dk, dk_c.view({s.B, s.H, s.padded(), s.D}).narrow(2, 0, s.N));
  write(dv, dva_c.view({s.B, s.H, s.padded(), s.M + 1}).narrow(2, 0, s.N).narrow(3, 0, s.M));
}

}  // namespace chunkwise
}  // namespace ember
