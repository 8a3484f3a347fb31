// Device hooks: how core/ reaches the memory and queues of devices it does not implement itself.
//
// core/ is Ember's ground floor and knows no backend. A backend above it (cuda/) fills in one
// DeviceHooks table for its device type at static initialisation, the way kernels register into
// DispatchStub tables (ops/dispatch.h):
//   const DeviceHooksRegistration registration(DeviceType::CUDA, {.allocate = ..., ...});
// Storage allocates and frees through the table, core/backend.h answers device queries from it and
// Tensor::to(Device) copies through it. A device type whose backend was not compiled in has no
// table, and using it throws ember::Error "<op>: no CUDA backend compiled into Ember ...". The CPU
// needs no hooks: core/cpu_allocator.h serves its memory and its ops return when done.
#pragma once

#include <cstddef>
#include <string>

#include "core/device.h"

namespace ember {

class Tensor;

struct DeviceHooks {
  void* (*allocate)(std::size_t nbytes, int index);
  void (*deallocate)(void* ptr, int index);
  // Copies contiguous src into contiguous dst of the same shape and dtype; one of the two is on this
  // device type, the other on the CPU or on another device of this type.
  void (*copy_between_devices)(const Tensor& dst, const Tensor& src);
  void (*synchronize)(int index);        // waits for the work queued on that device
  int (*device_count)();                 // usable devices, 0 when none (a broken driver throws)
  std::string (*unavailable_reason)();  // why device_count() is 0, or "" when it is not
};

// Installs the table of `type`; a backend calls it once, at static initialisation.
void register_device_hooks(DeviceType type, const DeviceHooks& hooks);
bool has_device_hooks(DeviceType type);
// The table of device's type. Throws ember::Error naming op and device when no backend registered one.
const DeviceHooks& device_hooks(Device device, const char* op);

struct DeviceHooksRegistration {
  DeviceHooksRegistration(DeviceType type, const DeviceHooks& hooks) { register_device_hooks(type, hooks); }
};

}  // namespace ember
