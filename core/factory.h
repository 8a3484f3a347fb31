// Creating tensors: empty/zeros/ones/full/arange and tensors from C++ values.
// Random factories (randn, rand, randint) live in ops/random.h; full(), which runs the fill
// kernel, is defined in ops/factory.cpp.
#pragma once

#include <initializer_list>
#include <vector>

#include "core/tensor.h"

namespace ember {

Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
// Throws ember::Error naming op when value has no representation in dtype (NaN, inf or out of range
// for int64); full() and fill_() check through it.
void check_fill_value(double value, DType dtype, const char* op);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

// [start, end) in steps of step, like numpy/torch arange; int64 unless options say otherwise.
Tensor arange(double end, TensorOptions options = kInt64);
Tensor arange(double start, double end, double step, TensorOptions options = kInt64);

// A tensor holding `values` with the given shape (a 1-D tensor when shape is empty).
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {}, TensorOptions options = dtype_of<T>());

// 1-D tensor from a braced list: tensor({1.0, 2.0}) is float32 by default, as in libtorch.
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});

}  // namespace ember
