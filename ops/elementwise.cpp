// Device-neutral entry points of the elementwise family: checks, broadcasting, autograd wiring.
#include "ops/elementwise.h"

#include <cmath>

#include "autograd/node.h"
#include "core/factory.h"
#include "ops/reduce.h"

namespace ember {

namespace kernels {
constinit DispatchStub<binary_fn> binary_stub("binary elementwise op");
constinit DispatchStub<unary_fn> unary_stub("unary elementwise op");
constinit DispatchStub<activation_fn> activation_stub("activation");
constinit DispatchStub<activation_backward_fn> activation_backward_stub("activation backward");
constinit DispatchStub<where_fn> where_stub("where");
}  // namespace kernels

using autograd::record;
using kernels::BinaryOp;
using kernels::UnaryOp;

namespace {

void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "{}: undefined tensor argument", op);
  EMBER_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} {} and {} {}", op,
              a.shape(), a.device(), b.shape(), b.device());
  EMBER_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch: {} {} and {} {}", op, a.shape(),
              a.dtype(), b.shape(), b.dtype());
  EMBER_CHECK(!is_reduced_float(a.dtype()), "{}: no {} kernel (shapes {} and {}): convert with .to(float32) or "
              "compute under autocast", op, a.dtype(), a.shape(), b.shape());
}

// The output of a unary op on x, after checking x.
Tensor unary_output(const Tensor& x, const char* name, bool floating_only) {
  EMBER_CHECK(x.defined(), "{}: undefined tensor argument", name);
  EMBER_CHECK(!is_reduced_float(x.dtype()), "{}: no {} kernel (shape {}): convert with .to(float32) or compute "
              "under autocast", name, x.dtype(), x.shape());
  EMBER_CHECK(!floating_only || is_floating(x.dtype()),
              "{}: expected a float32 or float64 tensor, got {} of shape {}", name, x.dtype(), x.shape());
  return empty(x.shape(), TensorOptions(x.dtype(), x.device()));
}

Tensor unary_op(UnaryOp op, const Tensor& x, double alpha, const char* name, bool floating_only) {
  Tensor out = unary_output(x, name, floating_only);
  EMBER_CHECK(is_floating(x.dtype()) || alpha == std::trunc(alpha),
              "{}: the scalar {} is not an integer, and the tensor ({} of shape {}) is: convert with .to(float32)",
              name, alpha, x.dtype(), x.shape());
  kernels::unary_stub(x.device())(op, x, out, alpha);
  return out;
}

// The activation F (a formula of ops/formulas/activations.h) with its fused backward,
// dx = F::backward(g, saved), where saved is x or y as F says. alpha is F's parameter.
template <typename F>
Tensor activation(const Tensor& x, double alpha = 0.0) {
  static_assert(formulas::Activations::contains<F>, "add the formula to formulas::Activations");
  Tensor y = unary_output(x, F::name, true);
  kernels::activation_stub(x.device())(F::id, x, y, alpha);
  Tensor saved = (F::saved == formulas::Saved::Output ? y : x).detach();
  return record(F::name, y, {x}, [saved, alpha](const Tensor& g, const std::vector<bool>&) {
    check_pair(F::name, g, saved);
    Shape shape = broadcast_shapes(g.shape(), saved.shape(), F::name);
    Tensor dx = empty(shape, TensorOptions(g.dtype(), g.device()));
    kernels::activation_backward_stub(g.device())(F::id, g, saved, dx, alpha);
    return std::vector<Tensor>{dx};
  }, {saved});
}

}  // namespace

Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b, double alpha, const char* name) {
  check_pair(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, TensorOptions(a.dtype(), a.device()));
  kernels::binary_stub(a.device())(op, a, b, out, alpha);
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Add, a, b, 1.0, "add");
  return record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(g, sa) : Tensor(), needs[1] ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Sub, a, b, 1.0, "sub");
  return record("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(g, sa) : Tensor(), needs[1] ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Mul, a, b, 1.0, "mul");
  if (!autograd::any_requires_grad({a, b})) return out;
  // Each input's gradient needs only the other input.
  Tensor keep_a = b.requires_grad() ? a.detach() : Tensor();
  Tensor keep_b = a.requires_grad() ? b.detach() : Tensor();
  return record("mul", out, {a, b}, [keep_a, keep_b, sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& needs) {
    return std::vector<Tensor>{needs[0] ? sum_to(mul(g, keep_b), sa) : Tensor(),
                               needs[1] ? sum_to(mul(g, keep_a), sb) : Tensor()};
  }, {keep_a, keep_b});
}

Tensor div(const Tensor& a, const Tensor& b) {
  // Integer division would truncate, and divide by zero with a signal, where PyTorch returns floats.
  EMBER_CHECK(!a.defined() || !b.defined() || is_floating(a.dtype()) || is_floating(b.dtype()) || a.dtype() != b.dtype(),
              "div: expected floating tensors, got {} {} and {} {}: convert with .to(float32)", a.shape(), a.dtype(),
              b.shape(), b.dtype());
  Tensor out = binary_op(BinaryOp::Div, a, b, 1.0, "div");
  if (!autograd::any_requires_grad({a, b})) return out;
  Tensor keep_b = b.detach();
  Tensor keep_out = b.requires_grad() ? out.detach() : Tensor();
  return record("div", out, {a, b}, [keep_b, keep_out, sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& needs) {
    Tensor ga = div(g, keep_b);
    // d(a/b)/db = -(a/b)/b
    return std::vector<Tensor>{needs[0] ? sum_to(ga, sa) : Tensor(),
                               needs[1] ? sum_to(neg(mul(ga, keep_out)), sb) : Tensor()};
  }, {keep_b, keep_out});
}

Tensor add(const Tensor& a, double b) {
  Tensor out = unary_op(UnaryOp::AddScalar, a, b, "add", false);
  return record("add", out, {a}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g};
  });
}

Tensor sub(const Tensor& a, double b) { return add(a, -b); }

Tensor mul(const Tensor& a, double b) {
  Tensor out = unary_op(UnaryOp::MulScalar, a, b, "mul", false);
  return record("mul", out, {a}, [b](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{mul(g, b)};
  });
}

Tensor div(const Tensor& a, double b) {
  EMBER_CHECK(is_floating(a.dtype()), "div: expected a floating tensor, got {} of shape {}",
              a.dtype(), a.shape());
  return mul(a, 1.0 / b);
}

Tensor rsub(const Tensor& a, double b) {
  Tensor out = unary_op(UnaryOp::RsubScalar, a, b, "rsub", false);
  return record("rsub", out, {a}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{neg(g)};
  });
}

Tensor rdiv(const Tensor& a, double b) {
  Tensor out = unary_op(UnaryOp::RdivScalar, a, b, "rdiv", true);
  if (!autograd::any_requires_grad({a})) return out;
  Tensor keep_a = a.detach(), keep_out = out.detach();
  return record("rdiv", out, {a}, [keep_a, keep_out](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{neg(div(mul(g, keep_out), keep_a))};  // d(b/a)/da = -(b/a)/a
  }, {keep_a, keep_out});
}

Tensor eq(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Eq, a, b, 1.0, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Ne, a, b, 1.0, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Lt, a, b, 1.0, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Le, a, b, 1.0, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Gt, a, b, 1.0, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Ge, a, b, 1.0, "ge"); }

Tensor neg(const Tensor& x) {
  Tensor out = unary_op(UnaryOp::Neg, x, 0.0, "neg", false);
  return record("neg", out, {x}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{neg(g)};
  });
}

Tensor exp(const Tensor& x) { return activation<formulas::Exp>(x); }
Tensor log(const Tensor& x) { return activation<formulas::Log>(x); }
Tensor sqrt(const Tensor& x) { return activation<formulas::Sqrt>(x); }
Tensor rsqrt(const Tensor& x) { return activation<formulas::Rsqrt>(x); }
Tensor abs(const Tensor& x) { return activation<formulas::Abs>(x); }
Tensor tanh(const Tensor& x) { return activation<formulas::Tanh>(x); }
Tensor sigmoid(const Tensor& x) { return activation<formulas::Sigmoid>(x); }
Tensor relu(const Tensor& x) { return activation<formulas::Relu>(x); }
Tensor gelu(const Tensor& x) { return activation<formulas::Gelu>(x); }
Tensor elu(const Tensor& x, double alpha) { return activation<formulas::Elu>(x, alpha); }
Tensor pow(const Tensor& x, double exponent) { return activation<formulas::Pow>(x, exponent); }
Tensor softplus(const Tensor& x) { return activation<formulas::Softplus>(x); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_pair("where", a, b);
  EMBER_CHECK(cond.defined() && cond.device() == a.device(),
              "where: condition of shape {} must be on {} like the values", cond.shape(), a.device());
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor c = cond.dtype() == a.dtype() ? cond : cond.detach().to(a.dtype());
  Tensor out = empty(shape, TensorOptions(a.dtype(), a.device()));
  kernels::where_stub(a.device())(c, a, b, out);
  if (!autograd::any_requires_grad({a, b})) return out;
  Tensor keep_c = c.detach();
  return record("where", out, {a, b}, [keep_c, sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<bool>& needs) {
    Tensor zero = zeros({}, TensorOptions(g.dtype(), g.device()));
    return std::vector<Tensor>{needs[0] ? sum_to(where(keep_c, g, zero), sa) : Tensor(),
                               needs[1] ? sum_to(where(keep_c, zero, g), sb) : Tensor()};
  }, {keep_c});
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  EMBER_CHECK(x.defined() && mask.defined(), "masked_fill: undefined tensor argument");
  Shape out_shape = broadcast_shapes(mask.shape(), x.shape(), "masked_fill");
  EMBER_CHECK(out_shape == x.shape(), "masked_fill: mask of shape {} does not broadcast to {}",
              mask.shape(), x.shape());
  return where(mask, full({}, value, TensorOptions(x.dtype(), x.device())), x);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return rdiv(b, a); }

}  // namespace ember
