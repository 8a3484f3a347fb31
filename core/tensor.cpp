// Tensor's own methods: metadata, element access, conversions, in-place updates and autograd
// entry points. Methods that are ops forward to the free functions in ops/.
#include "core/tensor.h"

#include <cstring>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/view.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/context.h"
#endif

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

std::int64_t Tensor::size(std::int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }
std::int64_t Tensor::stride(std::int64_t d) const {
  return strides()[normalize_dim(d, dim(), "stride")];
}

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (int d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * static_cast<std::int64_t>(element_size(dtype()));
}

template <typename T>
T* Tensor::data_ptr() const {
  EMBER_CHECK(dtype() == dtype_of<T>(), "data_ptr: tensor of shape {} is {}, not {}", shape(),
              dtype(), dtype_of<T>());
  return static_cast<T*>(raw_data());
}

template <typename T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, expected 1", shape(), numel());
  return to_vector<T>()[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = detach().to(kCPU).to(dtype_of<T>()).contiguous();
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

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), TensorOptions(target, device()));
  kernels::copy_stub(device())(*this, out);
  const auto differentiable = [](DType d) { return is_floating(d) || is_reduced_float(d); };
  if (!differentiable(target) || !differentiable(dtype())) return out;
  return autograd::record("to", out, {*this}, [source = dtype()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g.to(source)};
  });
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
#ifdef EMBER_WITH_CUDA
  Tensor src = contiguous();
  Tensor out = empty(shape(), TensorOptions(dtype(), target));
  cuda::copy_between_devices(out, src);
  return autograd::record("to", out, {*this}, [source = device()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g.to(source)};
  });
#else
  fail("to: cannot move a tensor of shape {} to {}: Ember was built without CUDA", shape(), target);
#endif
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), TensorOptions(dtype(), device()));
  kernels::copy_stub(device())(*this, out);
  return autograd::record("clone", out, {*this}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g};
  });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::detach() const {
  return make_tensor(storage(), shape(), strides(), offset(), dtype());
}

Tensor Tensor::view(const Shape& s) const { return ember::view(*this, s); }
Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(*this, s); }
Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return ember::flatten(*this, start_dim, end_dim);
}
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const { return ember::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  EMBER_CHECK(dim() == 2, "t: expected a 2-D tensor, got shape {}", shape());
  return ember::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return ember::slice(*this, d, start, end, step);
}
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  return ember::narrow(*this, d, start, length);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const { return ember::select(*this, d, index); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return ember::unsqueeze(*this, d); }
Tensor Tensor::squeeze(std::int64_t d) const { return ember::squeeze(*this, d); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::expand(const Shape& s) const { return ember::expand(*this, s); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return ember::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return ember::mean(*this, dims, keepdim); }
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }

namespace {
void check_in_place(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), "{}: undefined tensor", op);
  EMBER_CHECK(!(t.requires_grad() && GradMode::is_enabled()),
              "{}: in-place update of a tensor of shape {} that requires grad; wrap it in "
              "NoGradGuard (as optimizers do)", op, t.shape());
}
}  // namespace

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_in_place(*this, "fill_");
  kernels::fill_stub(device())(*this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_in_place(*this, "copy_");
  copy_into(*this, src, "copy_");
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_in_place(*this, "add_");
  EMBER_CHECK(other.dtype() == dtype() && other.device() == device(),
              "add_: cannot add {} {} into {} {}", other.dtype(), other.device(), dtype(), device());
  EMBER_CHECK(broadcast_shapes(shape(), other.shape(), "add_") == shape(),
              "add_: shape {} does not broadcast to {}", other.shape(), shape());
  kernels::binary_stub(device())(kernels::BinaryOp::Add, *this, other, *this, alpha);
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other) { return add_(other, -1.0); }

Tensor& Tensor::mul_(double value) {
  check_in_place(*this, "mul_");
  kernels::unary_stub(device())(kernels::UnaryOp::MulScalar, *this, *this, value);
  return *this;
}

bool Tensor::requires_grad() const { return impl_->requires_grad || impl_->grad_fn != nullptr; }

Tensor& Tensor::requires_grad_(bool wants_grad) {
  EMBER_CHECK(is_leaf(), "requires_grad_: only leaf tensors can change requires_grad (shape {})",
              shape());
  EMBER_CHECK(!wants_grad || is_floating(dtype()),
              "requires_grad_: only floating tensors can require grad, got {}", dtype());
  impl_->requires_grad = wants_grad;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) {
  EMBER_CHECK(!grad.defined() || grad.shape() == shape(),
              "set_grad: gradient of shape {} for a tensor of shape {}", grad.shape(), shape());
  impl_->grad = grad.defined() ? grad.impl_ptr() : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  Tensor g = gradient;
  if (!g.defined()) {
    EMBER_CHECK(numel() == 1,
                "backward: gradient can be implicit only for a single-element output, got shape {}",
                shape());
    g = ones(shape(), TensorOptions(dtype(), device()));
  }
  EMBER_CHECK(g.shape() == shape(), "backward: gradient of shape {} for an output of shape {}",
              g.shape(), shape());
  autograd::run_backward({*this}, {g}, retain_graph);
}

}  // namespace ember
