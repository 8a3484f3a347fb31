// CUDA linear (see ops/linear.h) as the product through the CUDA matmul (cuBLAS) and a bias add,
// written into `out`'s rows. Not fused like the CPU kernel: on a GPU the bias pass is one small
// launch, and a generation step's product is already latency-bound.
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/matmul.h"
#include "ops/view.h"

namespace ember::cuda {
namespace {

void linear_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  Tensor y = matmul(x.reshape({-1, weight.size(1)}), weight.t());  // (rows, N)
  if (bias.defined()) y = y + bias;
  copy_into(out, y.reshape(out.shape()), "linear");
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::linear_stub, DeviceType::CUDA, linear_cuda);

}  // namespace ember::cuda
