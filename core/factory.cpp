// Tensor creation from shapes and C++ values.
#include "core/factory.h"

#include <cmath>
#include <cstring>

#include "ops/copy.h"

namespace ember {

Tensor empty(const Shape& shape, TensorOptions options) {
  for (auto s : shape)
    EMBER_CHECK(s >= 0, "empty: negative dimension in shape {}", shape);
  std::int64_t n = shape_numel(shape);
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * element_size(options.dtype),
                                           options.device);
  Tensor t = make_tensor(std::move(storage), shape, contiguous_strides(shape), 0, options.dtype);
  if (options.requires_grad) t.requires_grad_();
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions options) {
  bool wants_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor t = empty(shape, options);
  kernels::fill_stub(t.device())(t, value);
  if (wants_grad) t.requires_grad_();
  return t;
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), TensorOptions(t.dtype(), t.device())); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), TensorOptions(t.dtype(), t.device())); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), TensorOptions(t.dtype(), t.device())); }

Tensor arange(double end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  EMBER_CHECK(step != 0, "arange: step must be nonzero");
  EMBER_CHECK((end - start) / step >= 0, "arange: range [{}, {}) with step {} is empty the wrong way",
              start, end, step);
  auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  std::vector<double> values(n);
  for (std::int64_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
  return from_vector(values, {n}, options);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  Shape s = shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape;
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
