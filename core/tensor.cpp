// Tensor's own methods: metadata, element access and autograd state. The methods that run
// kernels, record autograd or forward to ops (conversions, copies, views, math, in-place updates,
// backward) are defined in ops/tensor_methods.cpp: core/ sits below ops/ and knows no kernel table.
#include "core/tensor.h"

#include <cstring>

namespace ember {

Tensor make_tensor(StoragePtr storage, Shape shape, Shape strides, std::int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

void Tensor::throw_undefined(const char* accessor) {
  fail("{}: called on an undefined tensor (a default-constructed Tensor holds no data)", accessor);
}

std::int64_t Tensor::size(std::int64_t d) const {
  return checked("size").shape[normalize_dim(d, dim(), "size")];
}
std::int64_t Tensor::stride(std::int64_t d) const {
  return checked("stride").strides[normalize_dim(d, dim(), "stride")];
}

bool Tensor::is_contiguous() const {
  checked("is_contiguous");
  std::int64_t expected = 1;
  for (int d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  checked("raw_data");
  return static_cast<char*>(storage()->data()) + offset() * static_cast<std::int64_t>(element_size(dtype()));
}

template <typename T>
T* Tensor::data_ptr() const {
  EMBER_CHECK(self("data_ptr").dtype() == dtype_of<T>(), "data_ptr: tensor of shape {} is {}, not {}", shape(),
              dtype(), dtype_of<T>());
  return static_cast<T*>(raw_data());
}

template <typename T>
T Tensor::item() const {
  EMBER_CHECK(self("item").numel() == 1, "item: tensor of shape {} has {} elements, expected 1", shape(), numel());
  return to_vector<T>()[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = self("to_vector").detach().to(kCPU).to(dtype_of<T>()).contiguous();
  std::vector<T> values(static_cast<std::size_t>(host.numel()));
  if (!values.empty()) std::memcpy(values.data(), host.raw_data(), values.size() * sizeof(T));
  return values;
}

template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template std::int64_t* Tensor::data_ptr<std::int64_t>() const;
template bfloat16* Tensor::data_ptr<bfloat16>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

Tensor Tensor::detach() const {
  checked("detach");
  return make_tensor(storage(), shape(), strides(), offset(), dtype());
}

bool Tensor::requires_grad() const {
  const TensorImpl& impl = checked("requires_grad");
  return impl.requires_grad || impl.grad_fn != nullptr;
}

Tensor& Tensor::requires_grad_(bool wants_grad) {
  EMBER_CHECK(self("requires_grad_").is_leaf(),
              "requires_grad_: only leaf tensors can change requires_grad (shape {})", shape());
  EMBER_CHECK(!wants_grad || !is_reduced_float(dtype()),
              "requires_grad_: a {} tensor (shape {}) cannot require grad: Ember has no {} backward "
              "kernels; keep float32 weights and compute in {} under autocast", dtype(), shape(),
              dtype(), dtype());
  EMBER_CHECK(!wants_grad || is_floating(dtype()),
              "requires_grad_: only floating-point tensors can require grad, got {} of shape {}",
              dtype(), shape());
  impl_->requires_grad = wants_grad;
  return *this;
}

Tensor Tensor::grad() const { return checked("grad").grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) {
  checked("set_grad");
  if (grad.defined()) {
    EMBER_CHECK(grad.shape() == shape() && grad.dtype() == dtype() && grad.device() == device(),
                "set_grad: gradient {} {} on {} for a tensor {} {} on {}: shape, dtype and device "
                "must match", grad.shape(), grad.dtype(), grad.device(), shape(), dtype(), device());
  }
  impl_->grad = grad.defined() ? grad.impl_ptr() : nullptr;
}

}  // namespace ember
