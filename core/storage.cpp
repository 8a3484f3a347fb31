// Storage allocation for each device kind. CPU memory comes from core/cpu_allocator; other devices'
// memory from the backend that registered their device hooks (cuda/ registers its caching
// allocator), and without one, asking for it is an error that says how to get it.
#include "core/storage.h"

#include "core/cpu_allocator.h"
#include "core/device_hooks.h"

namespace ember {

Storage::Storage(std::size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = device.is_cpu() ? cpu_allocator::allocate(nbytes)
                          : device_hooks(device, "allocate").allocate(nbytes, device.index);
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    cpu_allocator::deallocate(data_, nbytes_);
    return;
  }
  // Cannot throw: the constructor found the hooks of this device.
  device_hooks(device_, "free").deallocate(data_, device_.index);
}

}  // namespace ember
