// Counter-based random numbers (Philox4x32-10), the same stream on every device and thread count.
//
// A Generator is only (seed, offset). An op that needs n random values reserves the counters
// [offset, offset + n) and element i is computed from philox(seed, offset + i) alone, so results do
// not depend on how the work is split across threads or whether it runs on the CPU or a GPU.
// Each thread has its own default generator (seeded 0 until manual_seed is called on that thread),
// so models trained in separate threads do not disturb each other's streams.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves n counters and returns the first.
  std::uint64_t advance(std::uint64_t n) {
    std::uint64_t first = offset_;
    offset_ += n;
    return first;
  }

 private:
  std::uint64_t seed_ = 0;
  std::uint64_t offset_ = 0;
};

Generator& default_generator();  // this thread's
void manual_seed(std::uint64_t seed);

// Philox4x32 with 10 rounds (Salmon et al. 2011): four 32-bit random words per counter.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline std::array<std::uint32_t, 4> philox(std::uint64_t seed, std::uint64_t counter) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0;
    std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2;
    std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

// Uniform in (0, 1] from 53 random bits (never 0, so log() is safe).
#if defined(__CUDACC__)
__host__ __device__
#endif
inline double philox_uniform(std::uint32_t hi, std::uint32_t lo) {
  std::uint64_t bits = (std::uint64_t{hi} << 21) ^ lo;
  bits &= (std::uint64_t{1} << 53) - 1;
  return (static_cast<double>(bits) + 1.0) * (1.0 / 9007199254740992.0);
}

}  // namespace ember
