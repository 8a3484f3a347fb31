// Helpers of the distributed tests: values that depend on the rank in a way a test can sum by hand.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ember/ember.h>

#include "distributed/distributed.h"

namespace ember::testing {

// The value rank r holds at element i: small integers, exact in every dtype (bfloat16 included)
// and under any order of summation.
inline double rank_value(int r, std::int64_t i) { return static_cast<double>((r + 1) * (i % 7 + 1)); }

// (numel,) tensor of rank_value(r, i) in `dtype`.
inline Tensor rank_tensor(int r, std::int64_t numel, DType dtype) {
  std::vector<double> values;
  for (std::int64_t i = 0; i < numel; ++i) values.push_back(rank_value(r, i));
  return from_vector<double>(values).to(dtype);
}

inline const std::vector<DType> kEveryDType = {kFloat32, kFloat64, kInt64, kBFloat16};

// Elements as doubles, whatever the dtype.
inline std::vector<double> values_of(const Tensor& t) { return t.to(kFloat64).contiguous().to_vector<double>(); }

// The message of the ember::Error that fn throws, or "(no error)".
template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

inline bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace ember::testing
