// The CPU caching allocator (see cpu_allocator.h).
#include "core/cpu_allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "core/error.h"

namespace ember::cpu_allocator {

namespace {

constexpr std::size_t kAlignment = 64;                 // a cache line; enough for AVX-512 loads
constexpr std::size_t kCachedMinBytes = 1 << 20;       // smaller blocks: malloc recycles them well
constexpr std::size_t kCacheCapBytes = std::size_t{2} << 30;
constexpr std::size_t kPageBytes = 4096;

struct Cache {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_blocks;  // rounded size -> block
  Stats stats;
};

// Never destroyed: a Storage released during static destruction (a tensor owned by another static
// object) may still hand its block back here. The cached blocks stay reachable from this pointer
// until exit, so leak checkers do not report them.
Cache& cache() {
  static Cache* instance = new Cache;
  return *instance;
}

std::size_t rounded(std::size_t nbytes) {
  if (nbytes >= kCachedMinBytes) return (nbytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  std::size_t n = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return n == 0 ? kAlignment : n;
}

}  // namespace

void* allocate(std::size_t nbytes) {
  const std::size_t size = rounded(nbytes);
  if (size >= kCachedMinBytes) {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    // Exact (page-rounded) sizes only: a training loop asks for the same sizes every step, and
    // a block is always freed with the size it was made for.
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* ptr = it->second;
      c.stats.cached_bytes -= it->first;
      c.free_blocks.erase(it);
      ++c.stats.hits;
      return ptr;
    }
    ++c.stats.misses;
  }
  void* ptr = std::aligned_alloc(kAlignment, size);
  if (!ptr && size >= kCachedMinBytes) {
    empty_cache();
    ptr = std::aligned_alloc(kAlignment, size);
  }
  EMBER_CHECK(ptr != nullptr, "out of memory: cannot allocate {} bytes on cpu", nbytes);
  return ptr;
}

void deallocate(void* ptr, std::size_t nbytes) {
  if (!ptr) return;
  const std::size_t size = rounded(nbytes);
  if (size >= kCachedMinBytes) {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    if (c.stats.cached_bytes + size <= kCacheCapBytes) {
      c.free_blocks.emplace(size, ptr);
      c.stats.cached_bytes += size;
      return;
    }
  }
  std::free(ptr);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  for (auto& [size, ptr] : c.free_blocks) std::free(ptr);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace ember::cpu_allocator
