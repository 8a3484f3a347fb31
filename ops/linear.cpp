// linear and linear_out entry points: checks, the row layout the kernels read, autocast, and the
// backward dx = g W, dW = g^T x, db = sum of g's rows (differentiable ops, so double backward works).
#include "ops/linear.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/memory_overlap.h"
#include "ops/autocast.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace ember {

namespace kernels {
constinit DispatchStub<linear_fn> linear_stub("linear");

std::optional<std::int64_t> linear_row_stride(const Tensor& t) {
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  const int d = static_cast<int>(shape.size());
  const std::int64_t cols = shape[d - 1];
  if (cols > 1 && strides[d - 1] != 1) return std::nullopt;
  std::optional<std::int64_t> stride;  // set by the innermost leading dim of size > 1
  std::int64_t span = 1;
  for (int k = d - 2; k >= 0; --k) {
    if (shape[k] == 1) continue;
    if (!stride) stride = strides[k];
    else if (strides[k] != *stride * span) return std::nullopt;
    span *= shape[k];
  }
  if (!stride) return std::max<std::int64_t>(cols, 1);  // at most one row
  if (*stride < std::max<std::int64_t>(cols, 1)) return std::nullopt;
  return stride;
}
}  // namespace kernels

namespace {

void check_operands(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  EMBER_CHECK(x.defined() && weight.defined(), "{}: undefined input or weight", op);
  EMBER_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1),
              "{}: expected x (..., K) and weight (N, K), got {} and {}", op, x.shape(), weight.shape());
  EMBER_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),  // no Shape built: no allocation
              "{}: bias of shape {} does not fit weight {} (expected [{}])", op, bias.defined() ? bias.shape() : Shape{},
              weight.shape(), weight.size(0));
  EMBER_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()) && is_floating(x.dtype()),
              "{}: x {} {}, weight {} {} and bias must share a float32 or float64 dtype{}", op, x.shape(), x.dtype(),
              weight.shape(), weight.dtype(), bias.defined() ? fmt::format(" (bias is {})", bias.dtype()) : "");
  EMBER_CHECK(x.device() == weight.device() && (!bias.defined() || bias.device() == x.device()),
              "{}: x, weight and bias on different devices: {}, {}, {}", op, x.device(), weight.device(),
              bias.defined() ? bias.device() : x.device());
}

// What the kernel takes: x as rows one stride apart (copied only when it is not), a contiguous bias.
void run_kernel(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  const Tensor rows = kernels::linear_row_stride(x) ? x : x.contiguous();
  kernels::linear_stub(x.device())(rows, weight, bias.defined() ? bias.contiguous() : bias, out);
}

// The product as matmul, which applies autocast's bfloat16 rule, with the bias added after.
Tensor linear_by_matmul(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor rows = x.dim() == 2 ? x : x.reshape({-1, x.size(-1)});
  Tensor y = matmul(rows, weight.t());
  if (bias.defined()) y = y + bias;
  if (x.dim() == 2) return y;
  Shape shape = x.shape();
  shape.back() = weight.size(0);
  return y.reshape(shape);
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operands("linear", x, weight, bias);
  if (autocast_applies(x)) return linear_by_matmul(x, weight, bias);
  Shape shape = x.shape();
  shape.back() = weight.size(0);
  Tensor out = empty(shape, TensorOptions(x.dtype(), x.device()));
  run_kernel(x.detach(), weight.detach(), bias.defined() ? bias.detach() : bias, out);
  if (!autograd::any_requires_grad({x, weight, bias})) return out;
  Tensor keep_x = weight.requires_grad() ? x.detach() : Tensor();
  Tensor keep_w = x.requires_grad() ? weight.detach() : Tensor();
  const std::int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  return autograd::record("linear", out, {x, weight, bias}, [keep_x, keep_w, rows, K = weight.size(1), N = weight.size(0)](const Tensor& g, const std::vector<bool>& needs) {
    const Tensor g_rows = g.reshape({rows, N});
    Tensor dx, dweight, dbias;
    if (needs[0]) dx = matmul(g, keep_w);                                         // (..., K)
    if (needs[1]) dweight = matmul(g_rows.t(), keep_x.reshape({rows, K}));          // (N, K)
    if (needs.size() > 2 && needs[2]) dbias = sum(g_rows, {0});                   // (N)
    return std::vector<Tensor>{dx, dweight, dbias};
  }, {keep_x, keep_w});
}

void linear_out(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  const char* op = "linear_out";
  check_operands(op, x, weight, bias);
  EMBER_CHECK(!autograd::any_requires_grad({x, weight, bias}),
              "{}: records no autograd, but an input requires grad (call it under NoGradGuard, or use linear)", op);
  EMBER_CHECK(out.defined() && out.dtype() == x.dtype() && out.device() == x.device() && out.dim() == x.dim() &&
                  std::equal(out.shape().begin(), out.shape().end() - 1, x.shape().begin()) &&
                  out.size(-1) == weight.size(0),
              "{}: out must be {} {} of shape {} with last dim {}, got {} {} {}", op, x.dtype(), x.device(), x.shape(),
              weight.size(0), out.defined() ? out.dtype() : x.dtype(), out.defined() ? out.device() : x.device(),
              out.defined() ? out.shape() : Shape{});
  EMBER_CHECK(kernels::linear_row_stride(out).has_value(),
              "{}: out of shape {} and strides {} is not rows one stride apart with a unit last-dim stride", op,
              out.shape(), out.strides());
  EMBER_CHECK(memory_overlap(out, x) == Overlap::None && memory_overlap(out, weight) == Overlap::None &&
                  (!bias.defined() || memory_overlap(out, bias) == Overlap::None),
              "{}: out of shape {} overlaps an input", op, out.shape());
  if (autocast_applies(x)) {
    copy_into(out, linear_by_matmul(x, weight, bias), op);
    return;
  }
  run_kernel(x, weight, bias, out);
  out.storage()->bump_version();
}

}  // namespace ember
