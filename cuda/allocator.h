// The CUDA caching allocator: freed blocks go to per-device free lists keyed by rounded size and
// are reused, so the training loop's steady state makes no cudaMalloc/cudaFree calls.
// Plain device memory (cudaMalloc), never managed memory.
#pragma once

#include <cstddef>

namespace ember::cuda {

void* allocate(std::size_t nbytes, int device);
void deallocate(void* ptr, int device);

struct MemoryStats {
  std::size_t allocated = 0;       // bytes in tensors now
  std::size_t reserved = 0;        // bytes held from cudaMalloc (allocated + cached)
  std::size_t peak_allocated = 0;  // high-water mark of allocated
};
MemoryStats memory_stats(int device = 0);
// Returns every cached (unused) block to the driver.
void empty_cache(int device = 0);

}  // namespace ember::cuda
