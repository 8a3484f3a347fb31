// The device hooks tables (see device_hooks.h): one slot per device type, empty until a backend
// registers. Written at static initialisation, before main, and only read afterwards.
#include "core/device_hooks.h"

#include <array>
#include <optional>

#include "core/error.h"

namespace ember {

namespace {
// Constant-initialised and trivially destructible: usable by registrations in any order and by
// storages freed at exit.
constinit std::array<std::optional<DeviceHooks>, kNumDeviceTypes> tables{};
}  // namespace

void register_device_hooks(DeviceType type, const DeviceHooks& hooks) { tables[static_cast<int>(type)] = hooks; }

bool has_device_hooks(DeviceType type) { return tables[static_cast<int>(type)].has_value(); }

const DeviceHooks& device_hooks(Device device, const char* op) {
  const std::optional<DeviceHooks>& hooks = tables[static_cast<int>(device.type)];
  if (!hooks) {
    fail("{}: no {} backend compiled into Ember, so {} cannot be used (configure with nvcc available and "
         "EMBER_CUDA=ON)", op, device.is_cpu() ? "CPU" : "CUDA", device);
  }
  return *hooks;
}

}  // namespace ember
