// CUDA kernels for the elementwise family: binary (with broadcasting), scalar arithmetic,
// activations and where. Each op is a __device__ lambda or a formula functor; the choice of op runs
// once per call on the host and cuda/loops.cuh does the indexing. The activations' maths is in
// ops/formulas/activations.h, shared with the CPU kernels: this file only expands its list.
#include "cuda/loops.cuh"
#include "ops/elementwise.h"

namespace ember::cuda {
namespace {

using kernels::Activation;
using kernels::BinaryOp;
using kernels::UnaryOp;

template <typename T, typename F>
void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  launch_elementwise<2, T, T>(out, {a, b}, f);
}

template <typename T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha_d) {
  const T alpha = static_cast<T>(alpha_d);
  switch (op) {
    case BinaryOp::Add:
      if (alpha_d == 1.0) return run_binary<T>(a, b, out, [] __device__(T x, T y) { return x + y; });
      return run_binary<T>(a, b, out, [alpha] __device__(T x, T y) { return x + alpha * y; });
    case BinaryOp::Sub:
      if (alpha_d == 1.0) return run_binary<T>(a, b, out, [] __device__(T x, T y) { return x - y; });
      return run_binary<T>(a, b, out, [alpha] __device__(T x, T y) { return x - alpha * y; });
    case BinaryOp::Mul: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return x * y; });
    case BinaryOp::Div: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return x / y; });
    case BinaryOp::Eq: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x == y); });
    case BinaryOp::Ne: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x != y); });
    case BinaryOp::Lt: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x < y); });
    case BinaryOp::Le: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x <= y); });
    case BinaryOp::Gt: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x > y); });
    case BinaryOp::Ge: return run_binary<T>(a, b, out, [] __device__(T x, T y) { return T(x >= y); });
  }
  fail("binary kernel: op {} is not defined", static_cast<int>(op));
}

void binary_cuda(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  dispatch_all(out.dtype(), [&]<typename T>() { binary_typed<T>(op, a, b, out, alpha); });
}

template <typename T, typename F>
void run_unary(const Tensor& x, const Tensor& out, F f) {
  launch_elementwise<1, T, T>(out, {x}, f);
}

template <typename T>
void unary_typed(UnaryOp op, const Tensor& x, const Tensor& out, double alpha_d) {
  const T alpha = static_cast<T>(alpha_d);
  switch (op) {
    case UnaryOp::Neg: return run_unary<T>(x, out, [] __device__(T v) { return -v; });
    case UnaryOp::AddScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return v + alpha; });
    case UnaryOp::MulScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return v * alpha; });
    case UnaryOp::RsubScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return alpha - v; });
    case UnaryOp::RdivScalar:
      if constexpr (std::is_floating_point_v<T>)
        return run_unary<T>(x, out, [alpha] __device__(T v) { return alpha / v; });
      break;
  }
  fail("unary kernel: op {} is not defined for {}", static_cast<int>(op), dtype_of<T>());
}

void unary_cuda(UnaryOp op, const Tensor& x, const Tensor& out, double alpha) {
  dispatch_all(out.dtype(), [&]<typename T>() { unary_typed<T>(op, x, out, alpha); });
}

void activation_cuda(Activation op, const Tensor& x, const Tensor& out, double alpha) {
  formulas::visit_activation(op, [&]<typename F>() {
    dispatch_floating(out.dtype(), F::name, [&]<typename T>() {
      launch_elementwise<1, T, T>(out, {x}, formulas::ValueOf<F, T>{static_cast<T>(alpha)});
    });
  });
}

void activation_backward_cuda(Activation op, const Tensor& g, const Tensor& saved, const Tensor& dx, double alpha) {
  formulas::visit_activation(op, [&]<typename F>() {
    dispatch_floating(dx.dtype(), F::name, [&]<typename T>() {
      launch_elementwise<2, T, T>(dx, {g, saved}, formulas::BackwardOf<F, T>{static_cast<T>(alpha)});
    });
  });
}

template <typename T>
void where_typed(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  launch_elementwise<3, T, T>(out, {cond, a, b}, [] __device__(T c, T x, T y) { return c != T(0) ? x : y; });
}

void where_cuda(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(out.dtype(), [&]<typename T>() { where_typed<T>(cond, a, b, out); });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::binary_stub, DeviceType::CUDA, binary_cuda);
EMBER_REGISTER_KERNEL(kernels::unary_stub, DeviceType::CUDA, unary_cuda);
EMBER_REGISTER_KERNEL(kernels::activation_stub, DeviceType::CUDA, activation_cuda);
EMBER_REGISTER_KERNEL(kernels::activation_backward_stub, DeviceType::CUDA, activation_backward_cuda);
EMBER_REGISTER_KERNEL(kernels::where_stub, DeviceType::CUDA, where_cuda);

}  // namespace ember::cuda
