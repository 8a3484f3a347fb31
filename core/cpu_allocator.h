// CPU memory for tensors: 64-byte aligned, with a cache of large blocks.
//
// Large allocations come straight from the kernel (mmap) and go back on free, so a training loop
// that allocates the same 100 MB activations every step would pay for zeroing fresh pages every
// step (a 128 MiB tensor is 32,768 page faults). Blocks of at least kCachedMinBytes are therefore
// kept on free and reused for requests of the same page-rounded size, up to a cap on
// the bytes cached; small blocks go through malloc, which already recycles them.
#pragma once

#include <cstddef>

namespace ember::cpu_allocator {

void* allocate(std::size_t nbytes);
void deallocate(void* ptr, std::size_t nbytes);

struct Stats {
  std::size_t cached_bytes = 0;  // freed large blocks kept for reuse
  std::size_t hits = 0, misses = 0;
};
Stats stats();
// Returns every cached block to the system.
void empty_cache();

}  // namespace ember::cpu_allocator
