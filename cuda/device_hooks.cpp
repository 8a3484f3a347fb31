// Registers the CUDA backend into core's device hooks (core/device_hooks.h): the caching allocator
// (cuda/allocator.h) and the copies, synchronisation and device queries of cuda/context.h. This is
// how core/ allocates CUDA storage and answers cuda_is_available() without including cuda/.
#include "core/device_hooks.h"

#include "cuda/allocator.h"
#include "cuda/context.h"

namespace ember::cuda {
namespace {

constexpr DeviceHooks kCudaHooks{
    .allocate = allocate,
    .deallocate = deallocate,
    .copy_between_devices = copy_between_devices,
    .synchronize = synchronize,
    .device_count = device_count,
    .unavailable_reason = unavailable_reason,
};
const DeviceHooksRegistration registration(DeviceType::CUDA, kCudaHooks);

}  // namespace
}  // namespace ember::cuda
