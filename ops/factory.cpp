// full(), declared with the other factories in core/factory.h and defined here because it runs the
// fill kernel (ops/copy.h), which core/ does not know.
#include "core/factory.h"
#include "ops/copy.h"

namespace ember {

Tensor full(const Shape& shape, double value, TensorOptions options) {
  check_fill_value(value, options.dtype, "full");
  bool wants_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor t = empty(shape, options);
  kernels::fill_stub(t.device())(t, value);
  if (wants_grad) t.requires_grad_();
  return t;
}

}  // namespace ember
