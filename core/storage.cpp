// Storage allocation for each device kind. CUDA memory is delegated to cuda/allocator when Ember is
// built with CUDA; otherwise asking for it is an error that says how to get it.
#include "core/storage.h"

#include "core/cpu_allocator.h"
#include "core/error.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/allocator.h"
#endif

namespace ember {

Storage::Storage(std::size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    data_ = cpu_allocator::allocate(nbytes);
    return;
  }
#ifdef EMBER_WITH_CUDA
  data_ = cuda::allocate(nbytes, device.index);
#else
  fail("cannot allocate on {}: Ember was built without CUDA (configure with nvcc available and "
       "EMBER_CUDA=ON)", device);
#endif
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    cpu_allocator::deallocate(data_, nbytes_);
    return;
  }
#ifdef EMBER_WITH_CUDA
  cuda::deallocate(data_, device_.index);
#endif
}

}  // namespace ember
