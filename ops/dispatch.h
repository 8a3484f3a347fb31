// Per-device kernel tables (the DispatchStub pattern of PyTorch's ATen).
//
// Each op family declares its kernel signature once, e.g.
//   using softmax_fn = void (*)(const Tensor& x, const Tensor& out, int dim, bool log);
//   extern DispatchStub<softmax_fn> softmax_stub;      // in the family header
// and each backend registers its implementation from its own source file:
//   EMBER_REGISTER_KERNEL(softmax_stub, DeviceType::CPU, softmax_cpu);
// The device-neutral entry point checks inputs and calls softmax_stub(device)(...). A backend that
// registered nothing gives a clear "<op> has no CUDA kernel" error. Ember is a shared library so
// the registrations in backend files always run.
#pragma once

#include <array>
#include <string_view>

#include "core/device.h"
#include "core/error.h"

namespace ember {

template <typename Fn>
class DispatchStub {
 public:
  explicit constexpr DispatchStub(std::string_view op) : op_(op) {}

  Fn operator()(Device device) const {
    Fn fn = table_[static_cast<int>(device.type)];
    if (!fn) {
      fail("{} has no {} kernel{}", op_, device.is_cpu() ? "CPU" : "CUDA",
           device.is_cuda() ? " (this op is not implemented for CUDA tensors yet)" : "");
    }
    return fn;
  }
  void set(DeviceType type, Fn fn) { table_[static_cast<int>(type)] = fn; }

 private:
  std::string_view op_;
  std::array<Fn, kNumDeviceTypes> table_{};
};

template <typename Fn>
struct KernelRegistration {
  KernelRegistration(DispatchStub<Fn>& stub, DeviceType type, Fn fn) { stub.set(type, fn); }
};

}  // namespace ember

#define EMBER_CONCAT_INNER(a, b) a##b
#define EMBER_CONCAT(a, b) EMBER_CONCAT_INNER(a, b)
#define EMBER_REGISTER_KERNEL(stub, device_type, fn) \
  static ::ember::KernelRegistration EMBER_CONCAT(ember_register_, __LINE__)(stub, device_type, fn)
