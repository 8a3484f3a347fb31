// Tensor: Ember's n-dimensional array, a cheap handle to shared state.
//
// A Tensor is a shared_ptr to a TensorImpl, which holds
//   storage  - the reference-counted bytes (shared by all views of them),
//   shape, strides (in elements), offset (in elements into the storage), dtype,
//   autograd state - requires_grad for leaves, grad_fn for results of differentiable ops, and the
//                    accumulated .grad.
// Copying a Tensor copies the handle, as in libtorch; clone() copies the data. Views (transpose,
// slice, expand, ...) make a new TensorImpl over the same Storage, so writes through one are seen
// through the other.
//
// The free functions in ops/ are the full API; the methods below are the ones users reach for
// most, forwarding to those functions. Methods that run kernels or record autograd are declared
// here but defined in ops/tensor_methods.cpp, so that core/ knows no kernel table.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"

namespace ember {

namespace autograd {
class Node;
struct GradReadyHooks;  // autograd/backward_hooks.h
}

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kBFloat16 = DType::BFloat16;

// dtype/device/requires_grad of a new tensor; converts implicitly from a DType or a Device so that
// `zeros({2, 3}, kFloat64)` and `zeros({2, 3}, kCUDA)` read naturally.
struct TensorOptions {
  DType dtype = kFloat32;
  Device device = kCPU;
  bool requires_grad = false;

  TensorOptions() = default;
  TensorOptions(DType d) : dtype(d) {}                      // NOLINT: implicit by design
  TensorOptions(Device dev) : device(dev) {}                // NOLINT: implicit by design
  TensorOptions(DType d, Device dev) : dtype(d), device(dev) {}
};

struct TensorImpl {
  StoragePtr storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;
  DType dtype = kFloat32;

  // Autograd. A leaf has requires_grad set by the user and no grad_fn; a non-leaf has grad_fn.
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  std::shared_ptr<TensorImpl> grad;
  std::weak_ptr<autograd::Node> grad_accumulator;  // created on first use, shared by all uses
  std::shared_ptr<autograd::GradReadyHooks> grad_ready_hooks;  // null until a hook is added
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- metadata. Every accessor below throws ember::Error on an undefined tensor.
  const Shape& shape() const { return checked("shape").shape; }
  const Shape& strides() const { return checked("strides").strides; }
  std::int64_t offset() const { return checked("offset").offset; }
  DType dtype() const { return checked("dtype").dtype; }
  Device device() const { return checked("device").storage->device(); }
  int dim() const { return static_cast<int>(checked("dim").shape.size()); }
  std::int64_t size(std::int64_t d) const;
  std::int64_t stride(std::int64_t d) const;
  std::int64_t numel() const { return shape_numel(checked("numel").shape); }
  bool is_contiguous() const;
  const StoragePtr& storage() const { return checked("storage").storage; }
  // How many in-place writes the storage has seen (autograd's saved-tensor check; see storage.h).
  std::uint64_t version() const { return checked("version").storage->version(); }

  // Pointer to the first element (storage + offset), typed. T must match dtype().
  template <typename T> T* data_ptr() const;
  void* raw_data() const;

  // ---- values
  // The single element, converted to T (copied from the GPU when needed).
  template <typename T> T item() const;
  // All elements in row-major order, converted to T.
  template <typename T> std::vector<T> to_vector() const;

  // ---- conversion and copies
  Tensor to(DType dtype) const;    // differentiable for floating dtypes
  Tensor to(Device device) const;  // differentiable
  Tensor clone() const;
  Tensor contiguous() const;       // *this if already contiguous
  Tensor detach() const;           // shares storage, leaves the graph

  // ---- views (share storage; differentiable)
  Tensor view(const Shape& shape) const;     // requires compatible strides
  Tensor reshape(const Shape& shape) const;  // view when possible, else a copy
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor permute(const Shape& dims) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor squeeze() const;
  Tensor expand(const Shape& shape) const;

  // ---- common math (see ops/ for the rest)
  Tensor sum(const Shape& dims = {}, bool keepdim = false) const;
  Tensor mean(const Shape& dims = {}, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;

  // ---- in place. Not recorded by autograd: they refuse to touch a tensor that requires grad
  // while grad mode is on (use them under NoGradGuard, as optimizers do). Each bumps the storage's
  // version, so a backward that saved this storage refuses to run on the changed values. A
  // destination whose elements overlap one another (an expand()ed view) is refused; a source that
  // overlaps the destination in part is read through a temporary copy.
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape, dtype converted
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other);
  Tensor& mul_(double value);

  // ---- autograd
  bool requires_grad() const;
  Tensor& requires_grad_(bool wants_grad = true);
  bool is_leaf() const { return checked("is_leaf").grad_fn == nullptr; }
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& grad);
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked("grad_fn").grad_fn; }
  // Reverse-mode pass from this tensor. gradient defaults to 1 for a single-element tensor.
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;

 private:
  const TensorImpl& checked(const char* accessor) const {
    if (!impl_) throw_undefined(accessor);
    return *impl_;
  }
  const Tensor& self(const char* accessor) const {
    checked(accessor);
    return *this;
  }
  [[noreturn]] static void throw_undefined(const char* accessor);

  std::shared_ptr<TensorImpl> impl_;
};

// A tensor over existing storage (used by views and kernels).
Tensor make_tensor(StoragePtr storage, Shape shape, Shape strides, std::int64_t offset,
                   DType dtype);

}  // namespace ember
