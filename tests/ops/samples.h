// Sample inputs for the op table: value domains and the standard layouts every op is called on.
#pragma once

#include <functional>
#include <limits>

#include "op_table.h"

namespace ember::testing {

// For error rows: int64 values, a CUDA tensor, sizes past what memory or int64 can hold.
inline Tensor i64(std::vector<std::int64_t> values) { return from_vector(values); }
inline Tensor cuda2() { return zeros({2}, kCUDA); }
inline constexpr std::int64_t kHuge = std::int64_t{1} << 40;
inline constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

}  // namespace ember::testing

namespace ember::testing::samples {

using Make = std::function<Tensor(const Shape&)>;

inline Tensor normal(const Shape& s) { return randn(s, kFloat64); }
inline Make positive(double low = 0.5, double high = 2.0) {
  return [=](const Shape& s) { return (rand(s, kFloat64) * (high - low) + low).detach(); };
}
// |x| in [0.2, 1.2): keeps finite differences off the kinks at 0 (relu, abs, elu).
inline Tensor away_from_zero(const Shape& s) {
  Tensor sign = gt(rand(s, kFloat64), full({}, 0.5, kFloat64)) * 2.0 - 1.0;
  return ((rand(s, kFloat64) + 0.2) * sign).detach();
}
inline Tensor indices(const Shape& s, std::int64_t high) { return randint(0, high, s); }

// (rows, cols) as the transpose of a contiguous (cols, rows) tensor.
inline Tensor transposed(std::int64_t rows, std::int64_t cols, const Make& make = normal) {
  return make({cols, rows}).t();
}
// `shape` as every other element of the last dim of a tensor twice as wide.
inline Tensor strided(Shape shape, const Make& make = normal) {
  Shape wide = shape;
  wide.back() *= 2;
  return make(wide).slice(-1, 0, wide.back(), 2);
}

// A unary op's layouts: plain, transposed, strided, 0-d, empty.
inline std::vector<Sample> unary(const Make& make = normal) {
  return {{"(2, 3)", {make({2, 3})}},
          {"transposed (3, 4)", {transposed(3, 4, make)}},
          {"step-2 slice (3, 4)", {strided({3, 4}, make)}},
          {"0-d", {make({})}},
          {"empty (0, 3)", {make({0, 3})}}};
}

// A binary op's layouts: same shape, broadcast both ways, transposed lhs, 0-d rhs, empty.
inline std::vector<Sample> binary(const Make& lhs = normal, const Make& rhs = normal) {
  return {{"same shape (2, 3)", {lhs({2, 3}), rhs({2, 3})}},
          {"broadcast (2, 1, 3) with (4, 1)", {lhs({2, 1, 3}), rhs({4, 1})}},
          {"transposed lhs (3, 2) with (1, 2)", {transposed(3, 2, lhs), rhs({1, 2})}},
          {"strided rhs", {lhs({2, 3}), strided({2, 3}, rhs)}},
          {"0-d rhs", {lhs({2, 3}), rhs({})}},
          {"empty (0, 3) with (3)", {lhs({0, 3}), rhs({3})}}};
}

}  // namespace ember::testing::samples
