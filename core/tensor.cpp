// Tensor's own methods: metadata, element access, conversions, in-place updates and autograd
// entry points. Methods that are ops forward to the free functions in ops/.
#include "core/tensor.h"

#include <cstring>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/memory_overlap.h"
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

Tensor Tensor::to(DType target) const {
  if (target == self("to").dtype()) return *this;
  Tensor out = empty(shape(), TensorOptions(target, device()));
  kernels::copy_stub(device())(*this, out);
  const auto differentiable = [](DType d) { return is_floating(d) || is_reduced_float(d); };
  if (!differentiable(target) || !differentiable(dtype())) return out;
  return autograd::record("to", out, {*this}, [source = dtype()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g.to(source)};
  });
}

Tensor Tensor::to(Device target) const {
  if (target == self("to").device()) return *this;
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
  checked("clone");
  Tensor out = empty(shape(), TensorOptions(dtype(), device()));
  kernels::copy_stub(device())(*this, out);
  return autograd::record("clone", out, {*this}, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g};
  });
}

Tensor Tensor::contiguous() const { return self("contiguous").is_contiguous() ? *this : clone(); }

Tensor Tensor::detach() const {
  checked("detach");
  return make_tensor(storage(), shape(), strides(), offset(), dtype());
}

// The forwarding methods name themselves when called on an undefined tensor.
Tensor Tensor::view(const Shape& s) const { return ember::view(self("view"), s); }
Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(self("reshape"), s); }
Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return ember::flatten(self("flatten"), start_dim, end_dim);
}
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
  return ember::transpose(self("transpose"), d0, d1);
}
Tensor Tensor::t() const {
  EMBER_CHECK(self("t").dim() == 2, "t: expected a 2-D tensor, got shape {}", shape());
  return ember::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& dims) const { return ember::permute(self("permute"), dims); }
Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return ember::slice(self("slice"), d, start, end, step);
}
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  return ember::narrow(self("narrow"), d, start, length);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const { return ember::select(self("select"), d, index); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return ember::unsqueeze(self("unsqueeze"), d); }
Tensor Tensor::squeeze(std::int64_t d) const { return ember::squeeze(self("squeeze"), d); }
Tensor Tensor::squeeze() const { return ember::squeeze(self("squeeze")); }
Tensor Tensor::expand(const Shape& s) const { return ember::expand(self("expand"), s); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return ember::sum(self("sum"), dims, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return ember::mean(self("mean"), dims, keepdim); }
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(self("matmul"), other); }

namespace {
// What every in-place method checks; the overlap of the destination is checked by the code that
// writes it (copy_into checks its own, for every caller).
void check_in_place(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), "{}: called on an undefined tensor", op);
  EMBER_CHECK(!(t.requires_grad() && GradMode::is_enabled()),
              "{}: in-place update of a tensor of shape {} that requires grad; wrap it in "
              "NoGradGuard (as optimizers do)", op, t.shape());
}

void fill_in_place(const Tensor& t, double value, const char* op) {
  check_in_place(t, op);
  check_no_internal_overlap(t, op);
  check_fill_value(value, t.dtype(), op);
  kernels::fill_stub(t.device())(t, value);
  t.storage()->bump_version();
}

// self += alpha * other, for add_ and sub_ (op names the caller in errors).
void add_in_place(const Tensor& self, const Tensor& other, double alpha, const char* op) {
  check_in_place(self, op);
  check_no_internal_overlap(self, op);
  EMBER_CHECK(other.defined(), "{}: the other tensor is undefined (writing into {})", op, self.shape());
  EMBER_CHECK(other.dtype() == self.dtype() && other.device() == self.device(),
              "{}: cannot combine {} {} into {} {}", op, other.dtype(), other.device(), self.dtype(),
              self.device());
  EMBER_CHECK(broadcast_shapes(self.shape(), other.shape(), op) == self.shape(),
              "{}: shape {} does not broadcast to {}", op, other.shape(), self.shape());
  // Reading other while writing self is safe only element for element (x.add_(x)).
  const Tensor source = memory_overlap(self, other) == Overlap::Partial ? other.detach().clone() : other;
  kernels::binary_stub(self.device())(kernels::BinaryOp::Add, self, source, self, alpha);
  self.storage()->bump_version();
}
}  // namespace

Tensor& Tensor::zero_() {
  fill_in_place(*this, 0.0, "zero_");
  return *this;
}

Tensor& Tensor::fill_(double value) {
  fill_in_place(*this, value, "fill_");
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_in_place(*this, "copy_");
  copy_into(*this, src, "copy_");
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  add_in_place(*this, other, alpha, "add_");
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other) {
  add_in_place(*this, other, -1.0, "sub_");
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_in_place(*this, "mul_");
  check_no_internal_overlap(*this, "mul_");
  kernels::unary_stub(device())(kernels::UnaryOp::MulScalar, *this, *this, value);
  storage()->bump_version();
  return *this;
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

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  checked("backward");
  Tensor g = gradient;
  if (!g.defined()) {
    EMBER_CHECK(numel() == 1,
                "backward: gradient can be implicit only for a single-element output, got shape {}",
                shape());
    g = ones(shape(), TensorOptions(dtype(), device()));
  }
  EMBER_CHECK(g.shape() == shape() && g.dtype() == dtype() && g.device() == device(),
              "backward: gradient {} {} on {} for an output {} {} on {}: shape, dtype and device "
              "must match", g.shape(), g.dtype(), g.device(), shape(), dtype(), device());
  autograd::run_backward({*this}, {g}, retain_graph);
}

}  // namespace ember
