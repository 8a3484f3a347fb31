// Tensor creation from shapes and C++ values. full(), which runs the fill kernel, is defined in
// ops/factory.cpp; zeros and ones are full() of 0 and 1.
#include "core/factory.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace ember {

Tensor empty(const Shape& shape, TensorOptions options) {
  check_shape(shape, "empty");
  const std::int64_t n = shape_numel(shape);
  const std::size_t element_bytes = element_size(options.dtype);
  EMBER_CHECK(static_cast<std::uint64_t>(n) <= std::numeric_limits<std::size_t>::max() / element_bytes,
              "empty: shape {} of {} is too large ({} elements of {} bytes)", shape, options.dtype, n,
              element_bytes);
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * element_bytes, options.device);
  Tensor t = make_tensor(std::move(storage), shape, contiguous_strides(shape), 0, options.dtype);
  if (options.requires_grad) t.requires_grad_();
  return t;
}

void check_fill_value(double value, DType dtype, const char* op) {
  if (dtype != kInt64) return;  // floating dtypes hold NaN and inf (bfloat16 rounds, as a cast)
  // Every int64 in [-2^63, 2^63) is a valid target; doubles outside it have no int64 value.
  constexpr double limit = 9223372036854775808.0;  // 2^63
  EMBER_CHECK(std::isfinite(value) && value >= -limit && value < limit,
              "{}: the value {} cannot be stored in an int64 tensor", op, value);
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), TensorOptions(t.dtype(), t.device())); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), TensorOptions(t.dtype(), t.device())); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), TensorOptions(t.dtype(), t.device())); }

Tensor arange(double end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  EMBER_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step) && step != 0,
              "arange: start {}, end {} and step {} must be finite, with a nonzero step", start, end, step);
  const double count = std::ceil((end - start) / step);
  EMBER_CHECK(count >= 0, "arange: range [{}, {}) with step {} is empty the wrong way", start, end, step);
  // Checked as a double: converting one past int64's range is undefined.
  EMBER_CHECK(count < 0x1p62, "arange: range [{}, {}) with step {} has too many elements", start, end, step);
  const auto n = static_cast<std::int64_t>(count);
  Tensor values = empty({n}, kFloat64);  // out of memory is an ember::Error here, not bad_alloc
  double* p = values.data_ptr<double>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = start + static_cast<double>(i) * step;
  Tensor out = values.to(options.dtype);
  if (options.device != kCPU) out = out.to(options.device);
  if (options.requires_grad) out.requires_grad_();
  return out;
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  Shape s = shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape;
  check_shape(s, "from_vector");
  EMBER_CHECK(shape_numel(s) == static_cast<std::int64_t>(values.size()),
              "from_vector: {} values do not fill shape {}", values.size(), s);
  bool wants_grad = options.requires_grad;
  Tensor host = empty(s, TensorOptions(dtype_of<T>(), kCPU));
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(T));
  Tensor out = host;
  if (options.dtype != host.dtype()) out = out.to(options.dtype);
  if (options.device != kCPU) out = out.to(options.device);
  if (wants_grad) out.requires_grad_();
  return out;
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, TensorOptions);

Tensor tensor(std::initializer_list<double> values, TensorOptions options) {
  return from_vector(std::vector<double>(values), {}, options);
}

}  // namespace ember
