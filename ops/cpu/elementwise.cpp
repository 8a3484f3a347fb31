// CPU kernels for the elementwise family: binary (with broadcasting), scalar arithmetic,
// activations and where. Each op is a small lambda or formula functor; the choice of op happens once
// per call, outside the loops. The activations' maths is in ops/formulas/activations.h, shared with
// the CUDA kernels: this file only expands its list.
#include "ops/cpu/loops.h"
#include "ops/elementwise.h"

namespace ember::cpu {
namespace {

using kernels::Activation;
using kernels::BinaryOp;
using kernels::UnaryOp;

template <typename T, typename F>
void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const Shape& shape = out.shape();
  std::array<Shape, 3> strides{out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
                               broadcast_strides(b.shape(), b.strides(), shape)};
  T* po = out.data_ptr<T>();
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  for_each_row<3>(shape, strides, [&](const Offsets<3>& o, std::int64_t n, const Offsets<3>& s) {
    binary_row(po + o[0], s[0], pa + o[1], s[1], pb + o[2], s[2], n, f);
  });
}

template <typename T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha_d) {
  const T alpha = static_cast<T>(alpha_d);
  auto go = [&](auto f) { run_binary<T>(a, b, out, f); };
  switch (op) {
    case BinaryOp::Add:
      if (alpha_d == 1.0) return go([](T x, T y) { return x + y; });
      return go([alpha](T x, T y) { return x + alpha * y; });
    case BinaryOp::Sub:
      if (alpha_d == 1.0) return go([](T x, T y) { return x - y; });
      return go([alpha](T x, T y) { return x - alpha * y; });
    case BinaryOp::Mul: return go([](T x, T y) { return x * y; });
    case BinaryOp::Div: return go([](T x, T y) { return x / y; });
    case BinaryOp::Eq: return go([](T x, T y) { return T(x == y); });
    case BinaryOp::Ne: return go([](T x, T y) { return T(x != y); });
    case BinaryOp::Lt: return go([](T x, T y) { return T(x < y); });
    case BinaryOp::Le: return go([](T x, T y) { return T(x <= y); });
    case BinaryOp::Gt: return go([](T x, T y) { return T(x > y); });
    case BinaryOp::Ge: return go([](T x, T y) { return T(x >= y); });
  }
  fail("binary kernel: op {} is not defined", static_cast<int>(op));
}

void binary_cpu(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  dispatch_all(out.dtype(), [&]<typename T>() { binary_typed<T>(op, a, b, out, alpha); });
}

template <typename T, typename F>
void run_unary(const Tensor& x, const Tensor& out, F f) {
  std::array<Shape, 2> strides{out.strides(), x.strides()};
  T* po = out.data_ptr<T>();
  const T* px = x.data_ptr<T>();
  for_each_row<2>(out.shape(), strides, [&](const Offsets<2>& o, std::int64_t n, const Offsets<2>& s) {
    unary_row(po + o[0], s[0], px + o[1], s[1], n, f);
  });
}

template <typename T>
void unary_typed(UnaryOp op, const Tensor& x, const Tensor& out, double alpha_d) {
  const T alpha = static_cast<T>(alpha_d);
  auto go = [&](auto f) { run_unary<T>(x, out, f); };
  switch (op) {
    case UnaryOp::Neg: return go([](T v) { return -v; });
    case UnaryOp::AddScalar: return go([alpha](T v) { return v + alpha; });
    case UnaryOp::MulScalar: return go([alpha](T v) { return v * alpha; });
    case UnaryOp::RsubScalar: return go([alpha](T v) { return alpha - v; });
    case UnaryOp::RdivScalar:
      if constexpr (std::is_floating_point_v<T>) return go([alpha](T v) { return alpha / v; });
      break;
  }
  fail("unary kernel: op {} is not defined for {}", static_cast<int>(op), dtype_of<T>());
}

void unary_cpu(UnaryOp op, const Tensor& x, const Tensor& out, double alpha) {
  dispatch_all(out.dtype(), [&]<typename T>() { unary_typed<T>(op, x, out, alpha); });
}

void activation_cpu(Activation op, const Tensor& x, const Tensor& out, double alpha) {
  formulas::visit_activation(op, [&]<typename F>() {
    dispatch_floating(out.dtype(), F::name, [&]<typename T>() {
      run_unary<T>(x, out, formulas::ValueOf<F, T>{static_cast<T>(alpha)});
    });
  });
}

void activation_backward_cpu(Activation op, const Tensor& g, const Tensor& saved, const Tensor& dx, double alpha) {
  formulas::visit_activation(op, [&]<typename F>() {
    dispatch_floating(dx.dtype(), F::name, [&]<typename T>() {
      run_binary<T>(g, saved, dx, formulas::BackwardOf<F, T>{static_cast<T>(alpha)});
    });
  });
}

void where_cpu(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(out.dtype(), [&]<typename T>() {
    const Shape& shape = out.shape();
    std::array<Shape, 4> strides{out.strides(), broadcast_strides(cond.shape(), cond.strides(), shape),
                                 broadcast_strides(a.shape(), a.strides(), shape),
                                 broadcast_strides(b.shape(), b.strides(), shape)};
    T* po = out.data_ptr<T>();
    const T* pc = cond.data_ptr<T>();
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    for_each_row<4>(shape, strides, [&](const Offsets<4>& o, std::int64_t n, const Offsets<4>& s) {
      for (std::int64_t i = 0; i < n; ++i)
        po[o[0] + i * s[0]] = pc[o[1] + i * s[1]] != T(0) ? pa[o[2] + i * s[2]] : pb[o[3] + i * s[3]];
    });
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::binary_stub, DeviceType::CPU, binary_cpu);
EMBER_REGISTER_KERNEL(kernels::unary_stub, DeviceType::CPU, unary_cpu);
EMBER_REGISTER_KERNEL(kernels::activation_stub, DeviceType::CPU, activation_cpu);
EMBER_REGISTER_KERNEL(kernels::activation_backward_stub, DeviceType::CPU, activation_backward_cpu);
EMBER_REGISTER_KERNEL(kernels::where_stub, DeviceType::CPU, where_cpu);

}  // namespace ember::cpu
