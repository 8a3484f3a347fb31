// Elementwise ops with numpy broadcasting: arithmetic, comparisons, activations, where.
//
// Binary ops require both operands on one device with one dtype (no silent promotion); the result
// has the broadcast shape. Scalar overloads (`x * 2.0`) never materialise a tensor for the scalar.
// Comparisons return 0/1 in the operands' dtype and are not differentiable.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"

namespace ember {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rsub(const Tensor& a, double b);  // b - a
Tensor rdiv(const Tensor& a, double b);  // b / a

Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact form, x * Phi(x), as PyTorch's default
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor pow(const Tensor& x, double exponent);

// cond ? a : b elementwise, all three broadcast; cond is true where nonzero (any dtype).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` wherever mask is nonzero; mask broadcasts to x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

namespace kernels {

// Forward ops and the fused backward formulas of unary ops (grad_in = f(grad_out, saved)), so a
// backward is one pass over memory. `alpha` scales b for Add/Sub and is the op parameter of the
// backward formulas (elu's alpha, pow's exponent).
enum class BinaryOp {
  Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge,
  SqrtBackward,     // (g, y): g / (2y)
  RsqrtBackward,    // (g, y): -g y^3 / 2
  TanhBackward,     // (g, y): g (1 - y^2)
  SigmoidBackward,  // (g, y): g y (1 - y)
  ReluBackward,     // (g, x): g [x > 0]
  GeluBackward,     // (g, x): g (Phi(x) + x phi(x))
  EluBackward,      // (g, x): g [x > 0] + g alpha e^x [x <= 0]
  PowBackward,      // (g, x): g alpha x^(alpha - 1)
  AbsBackward,      // (g, x): g sign(x)
};
enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Tanh, Sigmoid, Relu, Gelu,
  Elu,       // alpha
  Pow,       // x^alpha
  AddScalar, MulScalar, RsubScalar, RdivScalar,  // x + alpha, x alpha, alpha - x, alpha / x
};

// out has the broadcast shape and is contiguous; a and b are read through broadcast strides.
using binary_fn = void (*)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out,
                           double alpha);
using unary_fn = void (*)(UnaryOp op, const Tensor& x, const Tensor& out, double alpha);
// cond has the dtype of a and b here (the entry point converts it).
using where_fn = void (*)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

extern DispatchStub<binary_fn> binary_stub;
extern DispatchStub<unary_fn> unary_stub;
extern DispatchStub<where_fn> where_stub;

}  // namespace kernels

// Runs a binary kernel op on already-checked operands (used by backward formulas elsewhere).
Tensor binary_op(kernels::BinaryOp op, const Tensor& a, const Tensor& b, double alpha,
                 const char* name);

}  // namespace ember
