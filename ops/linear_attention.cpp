// linear_attention (checks, key padding, the non-causal form composed of matmuls) and the
// causal_linear_attention entry point (checks, output layout, autograd wiring).
#include "ops/linear_attention.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<causal_linear_attention_fn> causal_linear_attention_stub("causal_linear_attention");
constinit DispatchStub<causal_linear_attention_backward_fn> causal_linear_attention_backward_stub(
    "causal_linear_attention backward");
}  // namespace kernels

Tensor linear_attention(const Tensor& phi_q, const Tensor& phi_k, const Tensor& v,
                        const LinearAttentionOptions& options) {
  const char* op = "linear_attention";
  EMBER_CHECK(phi_q.defined() && phi_k.defined() && v.defined(), "{}: undefined phi_q, phi_k or v", op);
  EMBER_CHECK(phi_q.dim() == 4 && phi_k.dim() == 4 && v.dim() == 4 && phi_q.size(3) == phi_k.size(3) &&
                  phi_q.size(0) == phi_k.size(0) && phi_q.size(1) == phi_k.size(1) && v.size(0) == phi_k.size(0) &&
                  v.size(1) == phi_k.size(1) && v.size(2) == phi_k.size(2),
              "{}: expected phi_q (B, H, Nq, D), phi_k (B, H, Nk, D) and v (B, H, Nk, M), got {}, {}, {}", op,
              phi_q.shape(), phi_k.shape(), v.shape());
  EMBER_CHECK(phi_q.dtype() == phi_k.dtype() && phi_q.dtype() == v.dtype() && is_floating(phi_q.dtype()),
              "{}: phi_q, phi_k, v must share a floating dtype, got {}, {}, {}", op, phi_q.dtype(), phi_k.dtype(),
              v.dtype());
  EMBER_CHECK(phi_q.device() == phi_k.device() && phi_q.device() == v.device(),
              "{}: phi_q, phi_k, v on different devices: {}, {}, {}", op, phi_q.device(), phi_k.device(), v.device());
  EMBER_CHECK(!options.causal || phi_q.size(2) == phi_k.size(2),
              "{}: causal attention needs Nq == Nk, got {} and {}", op, phi_q.size(2), phi_k.size(2));
  EMBER_CHECK(options.eps >= 0, "{}: eps must be non-negative, got {}", op, options.eps);
  const std::int64_t B = phi_k.size(0), Nk = phi_k.size(2);
  Tensor keys = phi_k;
  if (const Tensor& lengths = options.key_lengths; lengths.defined()) {
    EMBER_CHECK(lengths.dtype() == kInt64 && lengths.shape() == Shape{B} && lengths.device() == phi_k.device(),
                "{}: key_lengths must be int64 of shape [{}] on {}, got {} {} on {}", op, B, phi_k.device(),
                lengths.dtype(), lengths.shape(), lengths.device());
    const Tensor positions = arange(Nk, TensorOptions(kInt64, lengths.device())).reshape({1, Nk});
    const Tensor kept = lt(positions, lengths.reshape({B, 1})).to(phi_k.dtype()).reshape({B, 1, Nk, 1});
    keys = phi_k * kept;  // padded rows are 0
  }
  if (options.causal) return causal_linear_attention(phi_q, keys, v, options.eps, options.chunk_size);
  const Tensor state = matmul(keys.transpose(-1, -2), v);        // S: (B, H, D, M)
  const Tensor normalizer = sum(keys, {2}).unsqueeze(-1);        // Z: (B, H, D, 1)
  return matmul(phi_q, state) / (matmul(phi_q, normalizer) + options.eps);  // (B, H, Nq, M)
}

namespace {
// causal_linear_attention's chunk_size 0 (see ops/linear_attention.h).
std::int64_t default_chunk(Device device) { return device.is_cuda() ? 64 : 32; }
}  // namespace

Tensor causal_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, double eps,
                               std::int64_t chunk_size) {
  const char* op = "causal_linear_attention";
  EMBER_CHECK(q.defined() && k.defined() && v.defined(), "{}: undefined tensor argument", op);
  EMBER_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "{}: expected q, k (B, H, N, D) and v (B, H, N, M), got {}, {}, {}", op, q.shape(),
              k.shape(), v.shape());
  EMBER_CHECK(q.shape() == k.shape() && Shape(v.shape().begin(), v.shape().end() - 1) ==
                                            Shape(q.shape().begin(), q.shape().end() - 1),
              "{}: q {} and k {} must match, and v {} must share their (B, H, N)", op, q.shape(),
              k.shape(), v.shape());
  EMBER_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype() && is_floating(q.dtype()),
              "{}: q, k, v must share a floating dtype, got {}, {}, {}", op, q.dtype(), k.dtype(), v.dtype());
  EMBER_CHECK(q.device() == k.device() && q.device() == v.device(),
              "{}: q, k, v on different devices: {}, {}, {}", op, q.device(), k.device(), v.device());
  EMBER_CHECK(chunk_size >= 0, "{}: chunk_size must be positive (or 0: the device's), got {}", op, chunk_size);
  if (chunk_size == 0) chunk_size = default_chunk(q.device());
  EMBER_CHECK(eps >= 0, "{}: eps must be non-negative, got {}", op, eps);
  const std::int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3), M = v.size(3);
  TensorOptions opts(q.dtype(), q.device());
  Tensor qd = with_gemm_rows(q), kd = with_gemm_rows(k), vd = with_gemm_rows(v);
  Tensor out = empty_heads_last(B, H, N, M, opts);
  Tensor inv_denom = empty({B, H, N}, opts);
  kernels::causal_linear_attention_stub(q.device())(qd, kd, vd, out, inv_denom, eps, chunk_size);
  if (!autograd::any_requires_grad({q, k, v})) return out;
  Tensor saved_out = out.detach();
  return autograd::record(op, out, {q, k, v}, [qd, kd, vd, saved_out, inv_denom, eps, chunk_size, B, H, N, D, M, opts](const Tensor& g, const std::vector<bool>& needs) {
    Tensor dq = empty_heads_last(B, H, N, D, opts), dk = empty_heads_last(B, H, N, D, opts);
    Tensor dv = empty_heads_last(B, H, N, M, opts);
    kernels::causal_linear_attention_backward_stub(g.device())(qd, kd, vd, saved_out, inv_denom, with_gemm_rows(g), dq,
                                                               dk, dv, eps, chunk_size);
    return std::vector<Tensor>{needs[0] ? dq : Tensor(), needs[1] ? dk : Tensor(), needs[2] ? dv : Tensor()};
  }, {qd, kd, vd, saved_out});
}

}  // namespace ember
