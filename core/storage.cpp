// Storage allocation for each device kind. CUDA memory is delegated to cuda/allocator when Ember is
// built with CUDA; otherwise asking for it is an error that says how to get it.
#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/allocator.h"
#endif

namespace ember {

namespace {
constexpr std::size_t kCpuAlignment = 64;  // one cache line; also enough for AVX-512 loads
}

Storage::Storage(std::size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    std::size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    if (rounded == 0) rounded = kCpuAlignment;
    data_ = std::aligned_alloc(kCpuAlignment, rounded);
    EMBER_CHECK(data_ != nullptr, "out of memory: cannot allocate {} bytes on cpu", nbytes);
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
    std::free(data_);
    return;
  }
#ifdef EMBER_WITH_CUDA
  cuda::deallocate(data_, device_.index);
#endif
}

}  // namespace ember
