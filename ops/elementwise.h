// Elementwise ops with numpy broadcasting: arithmetic, comparisons, activations, where.
//
// Binary ops require both operands on one device with one dtype (no silent promotion); the result
// has the broadcast shape. Scalar overloads (`x * 2.0`) never materialise a tensor for the scalar.
// Comparisons return 0/1 in the operands' dtype and are not differentiable.
#pragma once

#include "core/tensor.h"
#include "ops/dispatch.h"
#include "ops/formulas/activations.h"

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
Tensor softplus(const Tensor& x);  // log(1 + e^x), as torch.nn.functional.softplus

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

// Binary forward ops; `alpha` scales b for Add and Sub.
enum class BinaryOp { Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge };
// Scalar arithmetic: x + alpha, x alpha, alpha - x, alpha / x (and -x).
enum class UnaryOp { Neg, AddScalar, MulScalar, RsubScalar, RdivScalar };

using formulas::Activation;

// out has the broadcast shape and is contiguous; a and b are read through broadcast strides.
using binary_fn = void (*)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out,
                           double alpha);
using unary_fn = void (*)(UnaryOp op, const Tensor& x, const Tensor& out, double alpha);
// The activations of ops/formulas/activations.h (float32 and float64): out = value(x, alpha), and
// backward's dx = backward(g, saved, alpha) with g and saved read as broadcast to dx's shape.
using activation_fn = void (*)(Activation op, const Tensor& x, const Tensor& out, double alpha);
using activation_backward_fn = void (*)(Activation op, const Tensor& g, const Tensor& saved,
                                        const Tensor& dx, double alpha);
// cond has the dtype of a and b here (the entry point converts it).
using where_fn = void (*)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

extern DispatchStub<binary_fn> binary_stub;
extern DispatchStub<unary_fn> unary_stub;
extern DispatchStub<activation_fn> activation_stub;
extern DispatchStub<activation_backward_fn> activation_backward_stub;
extern DispatchStub<where_fn> where_stub;

}  // namespace kernels

// Runs a binary kernel op with the checks and broadcasting of add, sub, ... (no autograd).
Tensor binary_op(kernels::BinaryOp op, const Tensor& a, const Tensor& b, double alpha,
                 const char* name);

}  // namespace ember
