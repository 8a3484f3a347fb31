// CUDA optimizer kernels: one pass over param, grad and state (all contiguous, one shape), one
// thread per element. The update itself is ops/formulas/optim_updates.h, shared with the CPU
// kernels; its fixed options are template parameters, so the loop has no per-element branches on
// them.
#include "cuda/common.cuh"
#include "ops/formulas/optim_updates.h"

namespace ember::cuda {
namespace {

using kernels::AdamCoefficients;

template <typename T, bool kDecay, bool kMomentum, bool kNesterov>
__global__ void sgd_kernel(formulas::SgdTensors<T> t, std::int64_t n, formulas::SgdScalars<T> s) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads())
    formulas::sgd_update<T, kDecay, kMomentum, kNesterov>(t, i, s);
}

template <typename T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  cudaStream_t stream = launch_stream(param.device());
  const formulas::SgdTensors<T> t{static_cast<T*>(param.raw_data()), static_cast<const T*>(grad.raw_data()),
                                  buffer.defined() ? static_cast<T*>(buffer.raw_data()) : nullptr};
  const auto s = formulas::SgdScalars<T>::from(o);
  formulas::with_sgd_variant(o, [&]<bool kDecay, bool kMomentum, bool kNesterov>() {
    sgd_kernel<T, kDecay, kMomentum, kNesterov><<<grid_size(n), kBlockSize, 0, stream>>>(t, n, s);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void sgd_cuda(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() { sgd_typed<T>(param, grad, buffer, o); });
}

template <typename T, bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>
__global__ void adam_kernel(formulas::AdamTensors<T> t, std::int64_t n, formulas::AdamScalars<T> s) {
  for (std::int64_t i = global_thread(); i < n; i += global_threads())
    formulas::adam_update<T, kL2, kDecoupled, kAmsgrad, kAdaptive>(t, i, s);
}

template <typename T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  cudaStream_t stream = launch_stream(param.device());
  const formulas::AdamTensors<T> t{
      static_cast<T*>(param.raw_data()), static_cast<const T*>(grad.raw_data()), static_cast<T*>(exp_avg.raw_data()),
      static_cast<T*>(exp_avg_sq.raw_data()),
      max_exp_avg_sq.defined() ? static_cast<T*>(max_exp_avg_sq.raw_data()) : nullptr};
  const auto s = formulas::AdamScalars<T>::from(c);
  formulas::with_adam_variant(c, [&]<bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>() {
    adam_kernel<T, kL2, kDecoupled, kAmsgrad, kAdaptive><<<grid_size(n), kBlockSize, 0, stream>>>(t, n, s);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void adam_cuda(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  dispatch_floating(param.dtype(), "Adam", [&]<typename T>() {
    adam_typed<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sgd_step_stub, DeviceType::CUDA, sgd_cuda);
EMBER_REGISTER_KERNEL(kernels::adam_step_stub, DeviceType::CUDA, adam_cuda);

}  // namespace ember::cuda
