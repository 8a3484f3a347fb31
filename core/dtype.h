// Element types and the compile-time dispatch from a runtime DType to a C++ type.
//
// Kernels are written once as templates; `dispatch_floating(dtype, op, [&]<typename T>() {...})`
// instantiates them for each supported type and picks one at run time.
//
// bfloat16 is a storage and GEMM type: tensors of it can be created, copied, converted, printed,
// saved, multiplied (matmul) and attended over (sdpa on CUDA); other kernels take float32 or
// float64 and say so. Mixed-precision training reaches bf16 through autocast (ops/autocast.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "core/bfloat16.h"
#include "core/error.h"

namespace ember {

enum class DType : std::uint8_t { Float32, Float64, Int64, BFloat16 };

constexpr std::size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::BFloat16: return 2;
    default: return 8;
  }
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::BFloat16: return "bfloat16";
  }
  return "unknown";
}

// The dtypes every floating kernel takes.
constexpr bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

// Floating dtypes with fewer bits than float32: storage, GEMM and attention only.
constexpr bool is_reduced_float(DType dtype) { return dtype == DType::BFloat16; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<bfloat16>() { return DType::BFloat16; }

// Calls fn.template operator()<T>() with T the C++ type of a floating dtype; `op` names the
// caller in the error raised for int64.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    default: break;
  }
  fail("{}: expected a floating dtype (float32 or float64), got {}", op, dtype_name(dtype));
}

// Like dispatch_floating, but int64 is accepted too.
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    case DType::Int64: return fn.template operator()<std::int64_t>();
    default: break;
  }
  fail("{} tensors are supported only by matmul, sdpa, copies and dtype conversion: convert with "
       ".to(float32) or compute under autocast", dtype_name(dtype));
}

// Every dtype, bfloat16 included: for copies, conversions and fills.
template <typename Fn>
decltype(auto) dispatch_storage(DType dtype, Fn&& fn) {
  if (dtype == DType::BFloat16) return fn.template operator()<bfloat16>();
  return dispatch_all(dtype, std::forward<Fn>(fn));
}

}  // namespace ember

template <>
struct fmt::formatter<ember::DType> : fmt::formatter<std::string_view> {
  auto format(ember::DType d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(ember::dtype_name(d), ctx);
  }
};
