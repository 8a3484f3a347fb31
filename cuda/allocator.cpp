// Caching allocator (see allocator.h). Sizes round up to 512 bytes below 1 MiB and to 2 MiB above,
// which bounds waste while letting blocks of nearby sizes serve each other. A cudaMalloc that
// fails with cached blocks around empties the cache and retries once.
#include "cuda/allocator.h"

#include <array>
#include <map>
#include <mutex>
#include <unordered_map>

#include "cuda/context.h"

namespace ember::cuda {

namespace {

constexpr int kMaxDevices = 16;

std::size_t round_size(std::size_t n) {
  constexpr std::size_t kSmall = 512, kLarge = 2 << 20, kSmallLimit = 1 << 20;
  if (n == 0) n = 1;
  return n < kSmallLimit ? (n + kSmall - 1) / kSmall * kSmall : (n + kLarge - 1) / kLarge * kLarge;
}

struct DevicePool {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_blocks;    // size -> block, for best-fit lookup
  std::unordered_map<void*, std::size_t> in_use;    // block -> size
  MemoryStats stats;

  void release_cached() {
    for (auto& [size, ptr] : free_blocks) {
      cudaFree(ptr);
      stats.reserved -= size;
    }
    free_blocks.clear();
  }
};

DevicePool& pool(int device) {
  static std::array<DevicePool, kMaxDevices> pools;
  EMBER_CHECK(device >= 0 && device < kMaxDevices, "cuda allocator: bad device index {}", device);
  return pools[device];
}

}  // namespace

void* allocate(std::size_t nbytes, int device) {
  DevicePool& p = pool(device);
  const std::size_t size = round_size(nbytes);
  std::lock_guard lock(p.mutex);
  void* ptr = nullptr;
  // Reuse the smallest cached block that fits, if it is not wastefully large.
  auto it = p.free_blocks.lower_bound(size);
  if (it != p.free_blocks.end() && it->first <= 2 * size) {
    ptr = it->second;
    const std::size_t block = it->first;
    p.free_blocks.erase(it);
    p.in_use[ptr] = block;
    p.stats.allocated += block;
  } else {
    EMBER_CUDA_CHECK(cudaSetDevice(device));
    if (cudaMalloc(&ptr, size) != cudaSuccess) {
      cudaGetLastError();
      p.release_cached();
      EMBER_CUDA_CHECK(cudaMalloc(&ptr, size));
    }
    p.in_use[ptr] = size;
    p.stats.allocated += size;
    p.stats.reserved += size;
  }
  p.stats.peak_allocated = std::max(p.stats.peak_allocated, p.stats.allocated);
  return ptr;
}

void deallocate(void* ptr, int device) {
  if (!ptr) return;
  DevicePool& p = pool(device);
  std::lock_guard lock(p.mutex);
  auto it = p.in_use.find(ptr);
  if (it == p.in_use.end()) return;
  // Work queued on Ember's stream may still read this block; reuse is ordered on that stream.
  p.stats.allocated -= it->second;
  p.free_blocks.emplace(it->second, ptr);
  p.in_use.erase(it);
}

MemoryStats memory_stats(int device) {
  DevicePool& p = pool(device);
  std::lock_guard lock(p.mutex);
  return p.stats;
}

void empty_cache(int device) {
  DevicePool& p = pool(device);
  std::lock_guard lock(p.mutex);
  p.release_cached();
}

}  // namespace ember::cuda
