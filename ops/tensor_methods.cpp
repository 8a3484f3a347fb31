// The bodies of Tensor's methods that run kernels, record autograd or forward to ops: conversions
// and copies, views, common math, in-place updates and backward. They are declared with the rest
// of Tensor in core/tensor.h; defining them here keeps core/ free of kernel tables and of the
// floors above it. Copies between devices go through the device hooks (core/device_hooks.h).
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/device_hooks.h"
#include "core/factory.h"
#include "core/memory_overlap.h"
#include "core/tensor.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace ember {

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
  // Devices differ, so one of them is not the CPU: its backend does the copy.
  const DeviceHooks& hooks = device_hooks(target.is_cpu() ? device() : target, "to");
  Tensor src = contiguous();
  Tensor out = empty(shape(), TensorOptions(dtype(), target));
  hooks.copy_between_devices(out, src);
  return autograd::record("to", out, {*this}, [source = device()](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g.to(source)};
  });
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
