// CPU optimizer kernels: one flat pass over param, grad and state (all contiguous, one shape),
// split across OpenMP threads for large parameters. Each element's update is independent, so the
// result does not depend on the thread count. The update itself is ops/formulas/optim_updates.h,
// shared with the CUDA kernels; its fixed options are template parameters, so the loop has no
// per-element branches and vectorises.
#include "ops/cpu/loops.h"
#include "ops/formulas/optim_updates.h"

namespace ember::cpu {
namespace {

using kernels::AdamCoefficients;

template <typename T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  formulas::with_sgd_variant(o, [&]<bool kDecay, bool kMomentum, bool kNesterov>() {
    const std::int64_t n = param.numel();
    const formulas::SgdTensors<T> t{param.data_ptr<T>(), grad.data_ptr<T>(),
                                    kMomentum ? buffer.data_ptr<T>() : nullptr};
    const auto s = formulas::SgdScalars<T>::from(o);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) formulas::sgd_update<T, kDecay, kMomentum, kNesterov>(t, i, s);
  });
}

void sgd_cpu(const Tensor& param, const Tensor& grad, const Tensor& buffer, const SgdStepOptions& o) {
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() { sgd_typed<T>(param, grad, buffer, o); });
}

template <typename T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  formulas::with_adam_variant(c, [&]<bool kL2, bool kDecoupled, bool kAmsgrad, bool kAdaptive>() {
    const std::int64_t n = param.numel();
    const formulas::AdamTensors<T> t{param.data_ptr<T>(), grad.data_ptr<T>(), exp_avg.data_ptr<T>(),
                                     exp_avg_sq.data_ptr<T>(), kAmsgrad ? max_exp_avg_sq.data_ptr<T>() : nullptr};
    const auto s = formulas::AdamScalars<T>::from(c);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) formulas::adam_update<T, kL2, kDecoupled, kAmsgrad, kAdaptive>(t, i, s);
  });
}

void adam_cpu(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
              const Tensor& max_exp_avg_sq, const AdamCoefficients& c) {
  dispatch_floating(param.dtype(), "Adam", [&]<typename T>() {
    adam_typed<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::sgd_step_stub, DeviceType::CPU, sgd_cpu);
EMBER_REGISTER_KERNEL(kernels::adam_step_stub, DeviceType::CPU, adam_cpu);

}  // namespace ember::cpu
