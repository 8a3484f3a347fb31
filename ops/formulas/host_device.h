// Scalar code that compiles for both backends: EMBER_HOST_DEVICE marks a function that g++ builds
// for ops/cpu/ and nvcc builds for the host and the GPU, and `math::` picks the float or double C
// math function by type, so templated formulas never promote float to double on either side.
//
// The functions used here (expf, erff, powf, ...) are declared by <cmath> on the host and by CUDA's
// math headers as __host__ __device__, so one spelling works in both compilers.
#pragma once

#include <cmath>
#include <type_traits>

#ifdef __CUDACC__
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif

namespace ember::math {

template <typename T> EMBER_HOST_DEVICE inline T exp(T x) {
  if constexpr (std::is_same_v<T, float>) return ::expf(x); else return ::exp(x);
}
template <typename T> EMBER_HOST_DEVICE inline T log(T x) {
  if constexpr (std::is_same_v<T, float>) return ::logf(x); else return ::log(x);
}
// log(1 + x) without the cancellation of forming 1 + x: what stable forms such as softplus's need.
template <typename T> EMBER_HOST_DEVICE inline T log1p(T x) {
  if constexpr (std::is_same_v<T, float>) return ::log1pf(x); else return ::log1p(x);
}
template <typename T> EMBER_HOST_DEVICE inline T sqrt(T x) {
  if constexpr (std::is_same_v<T, float>) return ::sqrtf(x); else return ::sqrt(x);
}
template <typename T> EMBER_HOST_DEVICE inline T tanh(T x) {
  if constexpr (std::is_same_v<T, float>) return ::tanhf(x); else return ::tanh(x);
}
template <typename T> EMBER_HOST_DEVICE inline T erf(T x) {
  if constexpr (std::is_same_v<T, float>) return ::erff(x); else return ::erf(x);
}
template <typename T> EMBER_HOST_DEVICE inline T pow(T x, T y) {
  if constexpr (std::is_same_v<T, float>) return ::powf(x, y); else return ::pow(x, y);
}

}  // namespace ember::math
