// Reference computations for the op table, written with plain loops over row-major float64
// values: independent of Ember's kernels, broadcasting and views (only from_vector and to_vector,
// which read and write elements one by one, are shared).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ember/ember.h>

namespace ember::testing::ref {

using Index = std::vector<std::int64_t>;

inline std::int64_t count(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

// Row-major multi-index of flat position i.
inline Index unravel(std::int64_t i, const Shape& shape) {
  Index index(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    index[d] = shape[d] == 0 ? 0 : i % shape[d];
    if (shape[d] != 0) i /= shape[d];
  }
  return index;
}

// Flat row-major position of `index` in `shape`.
inline std::int64_t ravel(const Index& index, const Shape& shape) {
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

// numpy broadcasting, written out: align from the right, a size-1 dim stretches.
inline Shape broadcast(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Position in a tensor of `shape` read at `index` of the broadcast result.
inline std::int64_t broadcast_position(const Index& index, const Shape& shape) {
  const std::size_t skip = index.size() - shape.size();
  Index own(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) own[d] = shape[d] == 1 ? 0 : index[d + skip];
  return ravel(own, shape);
}

inline Tensor make(const std::vector<double>& values, const Shape& shape) {
  return from_vector(values, {static_cast<std::int64_t>(values.size())}, kFloat64).reshape(shape);
}

// f applied to each element.
inline Tensor map(const Tensor& x, const std::function<double(double)>& f) {
  std::vector<double> v = x.to_vector<double>();
  for (double& e : v) e = f(e);
  return make(v, x.shape());
}

// f over broadcast operands (any number).
inline Tensor zip(const std::vector<Tensor>& xs, const std::function<double(const std::vector<double>&)>& f) {
  Shape shape;
  for (const Tensor& x : xs) shape = broadcast(shape, x.shape());
  std::vector<std::vector<double>> values;
  for (const Tensor& x : xs) values.push_back(x.to_vector<double>());
  std::vector<double> out(count(shape));
  std::vector<double> args(xs.size());
  for (std::int64_t i = 0; i < count(shape); ++i) {
    const Index index = unravel(i, shape);
    for (std::size_t k = 0; k < xs.size(); ++k) args[k] = values[k][broadcast_position(index, xs[k].shape())];
    out[i] = f(args);
  }
  return make(out, shape);
}

inline Tensor zip(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
  return zip({a, b}, [&](const std::vector<double>& v) { return f(v[0], v[1]); });
}

// out[index] = x[source(index)]: every view and layout op, by where each element comes from.
inline Tensor gather(const Tensor& x, const Shape& out_shape, const std::function<Index(const Index&)>& source) {
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> out(count(out_shape));
  for (std::int64_t i = 0; i < count(out_shape); ++i) out[i] = v[ravel(source(unravel(i, out_shape)), x.shape())];
  return make(out, out_shape);
}

// Reduction over `dims` (empty: all) with `combine` from `init`, then `finish(acc, n)`.
inline Tensor reduce(const Tensor& x, Shape dims, bool keepdim, double init,
                     const std::function<double(double, double)>& combine,
                     const std::function<double(double, std::int64_t)>& finish) {
  const Shape& shape = x.shape();
  const auto rank = static_cast<std::int64_t>(shape.size());
  std::vector<bool> reduced(shape.size(), dims.empty());
  for (std::int64_t d : dims) reduced[d < 0 ? d + rank : d] = true;
  Shape kept_shape, out_shape;
  std::int64_t n = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) n *= shape[d];
    else kept_shape.push_back(shape[d]);
    if (!reduced[d]) out_shape.push_back(shape[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  std::vector<double> acc(count(kept_shape), init);
  const std::vector<double> v = x.to_vector<double>();
  for (std::int64_t i = 0; i < count(shape); ++i) {
    const Index index = unravel(i, shape);
    Index kept;
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (!reduced[d]) kept.push_back(index[d]);
    double& a = acc[ravel(kept, kept_shape)];
    a = combine(a, v[i]);
  }
  for (double& a : acc) a = finish(a, n);
  return make(acc, out_shape);
}

// Plain (M, K) x (K, N) product of row-major values.
inline std::vector<double> matmul2d(const std::vector<double>& a, const std::vector<double>& b, std::int64_t M,
                                    std::int64_t K, std::int64_t N) {
  std::vector<double> out(M * N, 0.0);
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += a[i * K + k] * b[k * N + j];
      out[i * N + j] = s;
    }
  return out;
}

}  // namespace ember::testing::ref
