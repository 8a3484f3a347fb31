// CUDA kernels for the elementwise family: binary (with broadcasting), unary and where. Each op is
// a __device__ lambda over the same formula as ops/cpu/elementwise.cpp; the switch over ops runs
// once per call on the host and cuda/loops.cuh does the indexing.
#include <numbers>

#include "cuda/loops.cuh"
#include "ops/elementwise.h"

namespace ember::cuda {
namespace {

using kernels::BinaryOp;
using kernels::UnaryOp;

template <typename T>
__device__ T gelu_value(T x) {
  return T(0.5) * x * (T(1) + math::erf(x * T(std::numbers::sqrt2 / 2)));
}

template <typename T>
__device__ T gelu_derivative(T x) {
  const T cdf = T(0.5) * (T(1) + math::erf(x * T(std::numbers::sqrt2 / 2)));
  const T pdf = math::exp(T(-0.5) * x * x) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
  return cdf + x * pdf;
}

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
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::SqrtBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T y) { return g / (T(2) * y); });
      case BinaryOp::RsqrtBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T y) { return T(-0.5) * g * y * y * y; });
      case BinaryOp::TanhBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T y) { return g * (T(1) - y * y); });
      case BinaryOp::SigmoidBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T y) { return g * y * (T(1) - y); });
      case BinaryOp::ReluBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T x) { return x > T(0) ? g : T(0); });
      case BinaryOp::GeluBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T x) { return g * gelu_derivative(x); });
      case BinaryOp::EluBackward:
        return run_binary<T>(a, b, out, [alpha] __device__(T g, T x) {
          return x > T(0) ? g : g * alpha * math::exp(x);
        });
      case BinaryOp::PowBackward:
        return run_binary<T>(a, b, out, [alpha] __device__(T g, T x) {
          return g * alpha * math::pow(x, alpha - T(1));
        });
      case BinaryOp::AbsBackward:
        return run_binary<T>(a, b, out, [] __device__(T g, T x) {
          return x > T(0) ? g : (x < T(0) ? -g : T(0));
        });
      default: break;
    }
  }
  fail("binary kernel: op {} is not defined for {}", static_cast<int>(op), dtype_of<T>());
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
    case UnaryOp::Abs: return run_unary<T>(x, out, [] __device__(T v) { return v < T(0) ? -v : v; });
    case UnaryOp::Relu: return run_unary<T>(x, out, [] __device__(T v) { return v > T(0) ? v : T(0); });
    case UnaryOp::AddScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return v + alpha; });
    case UnaryOp::MulScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return v * alpha; });
    case UnaryOp::RsubScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return alpha - v; });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::Exp: return run_unary<T>(x, out, [] __device__(T v) { return math::exp(v); });
      case UnaryOp::Log: return run_unary<T>(x, out, [] __device__(T v) { return math::log(v); });
      case UnaryOp::Sqrt: return run_unary<T>(x, out, [] __device__(T v) { return math::sqrt(v); });
      case UnaryOp::Rsqrt: return run_unary<T>(x, out, [] __device__(T v) { return T(1) / math::sqrt(v); });
      case UnaryOp::Tanh: return run_unary<T>(x, out, [] __device__(T v) { return math::tanh(v); });
      case UnaryOp::Sigmoid:
        return run_unary<T>(x, out, [] __device__(T v) { return T(1) / (T(1) + math::exp(-v)); });
      case UnaryOp::Gelu: return run_unary<T>(x, out, [] __device__(T v) { return gelu_value(v); });
      case UnaryOp::Elu:
        return run_unary<T>(x, out, [alpha] __device__(T v) {
          return v > T(0) ? v : alpha * (math::exp(v) - T(1));
        });
      case UnaryOp::Pow:
        if (alpha_d == 2.0) return run_unary<T>(x, out, [] __device__(T v) { return v * v; });
        return run_unary<T>(x, out, [alpha] __device__(T v) { return math::pow(v, alpha); });
      case UnaryOp::RdivScalar: return run_unary<T>(x, out, [alpha] __device__(T v) { return alpha / v; });
      default: break;
    }
  }
  fail("unary kernel: op {} is not defined for {}", static_cast<int>(op), dtype_of<T>());
}

void unary_cuda(UnaryOp op, const Tensor& x, const Tensor& out, double alpha) {
  dispatch_all(out.dtype(), [&]<typename T>() { unary_typed<T>(op, x, out, alpha); });
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
EMBER_REGISTER_KERNEL(kernels::where_stub, DeviceType::CUDA, where_cuda);

}  // namespace ember::cuda
