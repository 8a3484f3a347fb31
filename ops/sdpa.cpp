// scaled_dot_product_attention entry point: checks, output layout, dropout counters, autograd, and
// the autocast rule (bfloat16 operands on CUDA, see ops/autocast.h).
#include "ops/sdpa.h"

#include <cmath>

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/autocast.h"
#include "ops/copy.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<sdpa_forward_fn> sdpa_forward_stub("scaled_dot_product_attention");
constinit DispatchStub<sdpa_backward_fn> sdpa_backward_stub("scaled_dot_product_attention backward");
}  // namespace kernels

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options) {
  const char* op = "scaled_dot_product_attention";
  EMBER_CHECK(q.defined() && k.defined() && v.defined(), "{}: undefined tensor argument", op);
  EMBER_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "{}: expected q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, M), got {}, {}, {}", op, q.shape(),
              k.shape(), v.shape());
  const std::int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3), Nk = k.size(2), M = v.size(3);
  EMBER_CHECK(k.size(0) == B && k.size(1) == H && k.size(3) == D && v.size(0) == B && v.size(1) == H && v.size(2) == Nk,
              "{}: q {}, k {} and v {} do not fit (B, H, Nq, D), (B, H, Nk, D), (B, H, Nk, M)", op, q.shape(),
              k.shape(), v.shape());
  EMBER_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype() && (is_floating(q.dtype()) || is_reduced_float(q.dtype())),
              "{}: q, k, v must share a floating dtype, got {}, {}, {}", op, q.dtype(), k.dtype(), v.dtype());
  EMBER_CHECK(q.device() == k.device() && q.device() == v.device(), "{}: q, k, v on different devices: {}, {}, {}",
              op, q.device(), k.device(), v.device());
  EMBER_CHECK(!options.causal || Nq == Nk, "{}: causal attention needs Nq == Nk, got {} and {}", op, Nq, Nk);
  EMBER_CHECK(options.dropout_p >= 0 && options.dropout_p < 1, "{}: dropout_p must be in [0, 1), got {}", op,
              options.dropout_p);
  Tensor lengths;
  if (options.key_lengths.defined()) {
    const Tensor& kl = options.key_lengths;
    EMBER_CHECK(kl.dtype() == kInt64 && kl.shape() == Shape{B} && kl.device() == q.device(),
                "{}: key_lengths must be int64 of shape [{}] on {}, got {} {} on {}", op, B, q.device(), kl.dtype(),
                kl.shape(), kl.device());
    lengths = kl.contiguous();
  }
  kernels::SdpaParams params;
  params.causal = options.causal;
  params.scale = options.scale > 0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(D));
  params.dropout_p = options.dropout_p;
  if (options.dropout_p > 0) {
    Generator& gen = options.generator ? *options.generator : default_generator();
    params.seed = gen.seed();
    params.offset = gen.advance(static_cast<std::uint64_t>(B * H * Nq * Nk));
  }
  // Under autocast, CUDA attention without dropout runs on bfloat16 copies (cuDNN's fused kernel)
  // and hands back float32; saved tensors and backward stay in bfloat16.
  const bool lowered = autocast_applies(q) && q.device().is_cuda() && options.dropout_p == 0;
  const DType result_dtype = q.dtype();
  Tensor qd = with_gemm_rows(lowered ? autocast_copy(q) : q), kd = with_gemm_rows(lowered ? autocast_copy(k) : k);
  Tensor vd = with_gemm_rows(lowered ? autocast_copy(v) : v);
  TensorOptions opts(qd.dtype(), q.device());
  Tensor out = empty_heads_last(B, H, Nq, M, opts);
  // Log-sum-exp in float32 for bfloat16 operands (cuDNN's softmax statistics).
  Tensor lse = empty({B, H, Nq}, TensorOptions(is_reduced_float(qd.dtype()) ? kFloat32 : qd.dtype(), q.device()));
  kernels::sdpa_forward_stub(q.device())(qd, kd, vd, lengths, out, lse, params);
  Tensor saved_out = out.detach();
  if (lowered) {
    out = empty_heads_last(B, H, Nq, M, TensorOptions(result_dtype, q.device()));
    kernels::copy_stub(q.device())(saved_out, out);
  }
  if (!autograd::any_requires_grad({q, k, v})) return out;
  return autograd::record(op, out, {q, k, v}, [qd, kd, vd, lengths, saved_out, lse, params, opts, result_dtype, B, H, Nq, Nk, D, M](const Tensor& g, const std::vector<bool>& needs) {
    Tensor dq = empty_heads_last(B, H, Nq, D, opts), dk = empty_heads_last(B, H, Nk, D, opts);
    Tensor dv = empty_heads_last(B, H, Nk, M, opts);
    Tensor g_in = with_gemm_rows(g.dtype() == opts.dtype ? g : g.to(opts.dtype));
    kernels::sdpa_backward_stub(g.device())(qd, kd, vd, lengths, saved_out, lse, g_in, dq, dk, dv, params);
    auto result = [&](const Tensor& grad) { return grad.dtype() == result_dtype ? grad : grad.to(result_dtype); };
    return std::vector<Tensor>{needs[0] ? result(dq) : Tensor(), needs[1] ? result(dk) : Tensor(),
                               needs[2] ? result(dv) : Tensor()};
  }, {qd, kd, vd, lengths, saved_out});
}

}  // namespace ember
