// The activations' maths, written once for every backend: each struct below is one activation's
// forward value and its backward formula, and `Activations` lists them all. The CPU and CUDA
// kernels (ops/cpu/elementwise.cpp, cuda/elementwise.cu) expand that list, so a formula added to
// it runs on both without a line in either.
//
// A formula F has
//   id                          its Activation, the value the kernel tables are called with
//   name                        the op's name in errors and autograd nodes
//   saved                       what backward reads besides g: the input x or the output y
//   value(x, alpha)             y = f(x)
//   backward(g, saved, alpha)   dx = g f'(x), from g = dy and the saved x or y
// alpha is the op's parameter (elu's alpha, pow's exponent); formulas without one ignore it.
// Backward is one fused pass over g and the saved tensor, instead of a chain of elementwise ops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numbers>
#include <type_traits>

#include "core/error.h"
#include "ops/formulas/host_device.h"

namespace ember::formulas {

// Each value has one formula struct below, whose `id` it is.
enum class Activation : std::uint8_t { Exp, Log, Sqrt, Rsqrt, Abs, Tanh, Sigmoid, Relu, Gelu, Elu, Pow, Softplus };

enum class Saved : std::uint8_t { Input, Output };

struct Exp {
  static constexpr Activation id = Activation::Exp;
  static constexpr const char* name = "exp";
  static constexpr Saved saved = Saved::Output;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return math::exp(x); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T y, T) { return g * y; }
};

struct Log {
  static constexpr Activation id = Activation::Log;
  static constexpr const char* name = "log";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return math::log(x); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T) { return g / x; }
};

struct Sqrt {
  static constexpr Activation id = Activation::Sqrt;
  static constexpr const char* name = "sqrt";
  static constexpr Saved saved = Saved::Output;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return math::sqrt(x); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T y, T) { return g / (T(2) * y); }
};

struct Rsqrt {
  static constexpr Activation id = Activation::Rsqrt;
  static constexpr const char* name = "rsqrt";
  static constexpr Saved saved = Saved::Output;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return T(1) / math::sqrt(x); }
  // d(x^-1/2)/dx = -x^-3/2 / 2 = -y^3 / 2
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T y, T) { return T(-0.5) * g * y * y * y; }
};

struct Abs {
  static constexpr Activation id = Activation::Abs;
  static constexpr const char* name = "abs";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return x < T(0) ? -x : x; }
  // g sign(x), with sign(0) = 0 as in PyTorch.
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T) {
    return x > T(0) ? g : (x < T(0) ? -g : T(0));
  }
};

struct Tanh {
  static constexpr Activation id = Activation::Tanh;
  static constexpr const char* name = "tanh";
  static constexpr Saved saved = Saved::Output;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return math::tanh(x); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T y, T) { return g * (T(1) - y * y); }
};

struct Sigmoid {
  static constexpr Activation id = Activation::Sigmoid;
  static constexpr const char* name = "sigmoid";
  static constexpr Saved saved = Saved::Output;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return T(1) / (T(1) + math::exp(-x)); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T y, T) { return g * y * (T(1) - y); }
};

struct Relu {
  static constexpr Activation id = Activation::Relu;
  static constexpr const char* name = "relu";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) { return x > T(0) ? x : T(0); }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T) { return x > T(0) ? g : T(0); }
};

// The exact GELU, x Phi(x) with Phi the standard normal CDF (PyTorch's default, not the tanh
// approximation). Its derivative is Phi(x) + x phi(x), phi the normal density.
struct Gelu {
  static constexpr Activation id = Activation::Gelu;
  static constexpr const char* name = "gelu";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) {
    return T(0.5) * x * (T(1) + math::erf(x * T(std::numbers::sqrt2 / 2)));
  }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T) {
    const T cdf = T(0.5) * (T(1) + math::erf(x * T(std::numbers::sqrt2 / 2)));
    const T pdf = math::exp(T(-0.5) * x * x) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    return g * (cdf + x * pdf);
  }
};

struct Elu {
  static constexpr Activation id = Activation::Elu;
  static constexpr const char* name = "elu";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T alpha) {
    return x > T(0) ? x : alpha * (math::exp(x) - T(1));
  }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T alpha) {
    return x > T(0) ? g : g * alpha * math::exp(x);
  }
};

// x^alpha. Squaring, the common case, is one multiply: alpha is the same for the whole call, so
// the branch is taken uniformly on the GPU and hoisted out of the loop on the CPU.
struct Pow {
  static constexpr Activation id = Activation::Pow;
  static constexpr const char* name = "pow";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T alpha) {
    return alpha == T(2) ? x * x : math::pow(x, alpha);
  }
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T alpha) {
    return g * alpha * math::pow(x, alpha - T(1));
  }
};

// A list of formula structs: what the kernels expand, and what the entry points check against.
template <typename... Fs>
struct FormulaList {
  template <typename F>
  static constexpr bool contains = (std::is_same_v<F, Fs> || ...);

  // Calls fn.template operator()<F>() for the F whose id is `op`; false when there is none.
  template <typename Fn>
  static bool visit(Activation op, Fn&& fn) {
    return ((op == Fs::id && (fn.template operator()<Fs>(), true)) || ...);
  }

  static constexpr bool ids_distinct() {
    const Activation ids[] = {Fs::id...};
    for (std::size_t i = 0; i < sizeof...(Fs); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (ids[i] == ids[j]) return false;
    return true;
  }
};

// Every activation the kernels compile: a new formula goes here.
// log(1 + e^x), as max(x, 0) + log1p(e^-|x|): no overflow for large x, no lost digits for small.
struct Softplus {
  static constexpr Activation id = Activation::Softplus;
  static constexpr const char* name = "softplus";
  static constexpr Saved saved = Saved::Input;
  template <typename T> EMBER_HOST_DEVICE static T value(T x, T) {
    return (x > T(0) ? x : T(0)) + math::log1p(math::exp(x > T(0) ? -x : x));
  }
  // d/dx = sigmoid(x)
  template <typename T> EMBER_HOST_DEVICE static T backward(T g, T x, T) { return g / (T(1) + math::exp(-x)); }
};

using Activations = FormulaList<Exp, Log, Sqrt, Rsqrt, Abs, Tanh, Sigmoid, Relu, Gelu, Elu, Pow, Softplus>;
static_assert(Activations::ids_distinct(), "two activation formulas share one id");

// The kernels' one dispatch over activations: fn.template operator()<F>() with F the formula of `op`.
template <typename Fn>
void visit_activation(Activation op, Fn&& fn) {
  if (!Activations::visit(op, fn))
    fail("activation {} has no formula in formulas::Activations", static_cast<int>(op));
}

// The per-element calls that the kernels' loops take (plain structs rather than lambdas: nvcc
// cannot define a __device__ lambda inside the generic lambda that visits the list).
template <typename F, typename T>
struct ValueOf {
  T alpha;
  EMBER_HOST_DEVICE T operator()(T x) const { return F::value(x, alpha); }
};

template <typename F, typename T>
struct BackwardOf {
  T alpha;
  EMBER_HOST_DEVICE T operator()(T g, T saved) const { return F::backward(g, saved, alpha); }
};

}  // namespace ember::formulas
