// Element types and the compile-time dispatch from a runtime DType to a C++ type.
//
// Kernels are written once as templates; `dispatch_floating(dtype, op, [&]<typename T>() {...})`
// instantiates them for each supported type and picks one at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace ember {

enum class DType : std::uint8_t { Float32, Float64, Int64 };

constexpr std::size_t element_size(DType dtype) {
  return dtype == DType::Float32 ? 4 : 8;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

constexpr bool is_floating(DType dtype) { return dtype != DType::Int64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }

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
  }
  fail("unknown dtype {}", static_cast<int>(dtype));
}

}  // namespace ember

template <>
struct fmt::formatter<ember::DType> : fmt::formatter<std::string_view> {
  auto format(ember::DType d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(ember::dtype_name(d), ctx);
  }
};
