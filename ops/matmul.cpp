// matmul entry point: shape checks, batch broadcasting, 1-D promotion and the backward
// dA = dC Bᵀ, dB = Aᵀ dC (transposes are views, so no copies), summed over broadcast batch dims.
// Under autocast (ops/autocast.h) float32 operands are read as bfloat16 and the product comes
// back in float32; the node keeps the bfloat16 copies and runs its backward GEMMs on them.
#include "ops/matmul.h"

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/autocast.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<matmul_fn> matmul_stub("matmul");
}

namespace {

// a and b share a dtype; out_dtype is theirs, or float32 for bfloat16 operands under autocast.
Tensor matmul_nd(const Tensor& a, const Tensor& b, DType out_dtype) {
  const int da = a.dim(), db = b.dim();
  const std::int64_t k_a = a.shape()[da - 1], k_b = b.shape()[db - 2];
  EMBER_CHECK(k_a == k_b, "matmul: cannot multiply {} by {}: inner dimensions {} and {} differ",
              a.shape(), b.shape(), k_a, k_b);
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape shape_a = batch, shape_b = batch, out_shape = batch;
  shape_a.insert(shape_a.end(), {a.shape()[da - 2], k_a});
  shape_b.insert(shape_b.end(), {k_b, b.shape()[db - 1]});
  out_shape.insert(out_shape.end(), {a.shape()[da - 2], b.shape()[db - 1]});
  check_shape(out_shape, "matmul");
  Tensor out = empty(out_shape, TensorOptions(out_dtype, a.device()));
  kernels::matmul_stub(a.device())(a.detach().expand(shape_a), b.detach().expand(shape_b), out);
  return out;
}

// The differentiable product of a and b, computed on their low-precision copies a_low and b_low
// when autocast gave them (else a_low, b_low are a, b).
Tensor matmul_recorded(const Tensor& a, const Tensor& b, const Tensor& a_low, const Tensor& b_low) {
  Tensor out = matmul_nd(a_low, b_low, a.dtype());
  if (!autograd::any_requires_grad({a, b})) return out;
  Tensor keep_a = b.requires_grad() ? a_low.detach() : Tensor();
  Tensor keep_b = a.requires_grad() ? b_low.detach() : Tensor();
  return autograd::record("matmul", out, {a, b}, [keep_a, keep_b, sa = a.shape(), sb = b.shape(), out_dtype = a.dtype()](const Tensor& g_in, const std::vector<bool>& needs) {
    // Under autocast the float32 gradient is rounded like the operands; grads come back float32.
    const DType low = (keep_a.defined() ? keep_a : keep_b).dtype();
    Tensor g = g_in.dtype() == low ? g_in : g_in.to(low);
    auto product = [&](const Tensor& x, const Tensor& y) {
      return x.dtype() == out_dtype ? matmul_recorded(x, y, x, y) : matmul_nd(x, y, out_dtype);
    };
    Tensor ga, gb;
    if (needs[0]) ga = sum_to(product(g, transpose(keep_b, -1, -2)), sa);
    if (needs[1]) gb = sum_to(product(transpose(keep_a, -1, -2), g), sb);
    return std::vector<Tensor>{ga, gb};
  }, {keep_a, keep_b});
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "matmul: undefined tensor argument");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: cannot multiply {} by {}: both operands need at least 1 dim",
              a.shape(), b.shape());
  EMBER_CHECK(a.device() == b.device(), "matmul: operands on different devices: {} {} and {} {}",
              a.shape(), a.device(), b.shape(), b.device());
  EMBER_CHECK(a.dtype() == b.dtype() && (is_floating(a.dtype()) || is_reduced_float(a.dtype())),
              "matmul: operands must share a floating dtype, got {} {} and {} {}", a.shape(),
              a.dtype(), b.shape(), b.dtype());
  if (a.dim() == 1) {
    EMBER_CHECK(b.dim() == 1 ? a.size(0) == b.size(0) : a.size(0) == b.size(-2),
                "matmul: cannot multiply {} by {}: inner dimensions {} and {} differ", a.shape(),
                b.shape(), a.size(0), b.dim() == 1 ? b.size(0) : b.size(-2));
    return squeeze(matmul(unsqueeze(a, 0), b), b.dim() == 1 ? -1 : -2);
  }
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1);
  if (autocast_applies(a)) return matmul_recorded(a, b, autocast_copy(a), autocast_copy(b));
  return matmul_recorded(a, b, a, b);
}

}  // namespace ember
