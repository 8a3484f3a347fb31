// causal_linear_attention entry point: checks, output layout, autograd wiring.
#include "ops/linear_attention.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/copy.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<causal_linear_attention_fn> causal_linear_attention_stub("causal_linear_attention");
constinit DispatchStub<causal_linear_attention_backward_fn> causal_linear_attention_backward_stub(
    "causal_linear_attention backward");
}  // namespace kernels

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
  EMBER_CHECK(chunk_size >= 1, "{}: chunk_size must be positive, got {}", op, chunk_size);
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
