// Which instruction-set kernels of simd.h run: detected once, lowered by ScopedSimdLevel.
#include "ops/cpu/simd.h"

#include <atomic>

#include "core/error.h"
#include "ops/runtime_defaults.h"

namespace ember::cpu {

namespace {

SimdLevel detect() {
  const CpuFeatures f = detected_cpu_features();
  if (f.avx512f && f.avx512dq && f.avx2 && f.fma) return SimdLevel::Avx512;
  if (f.avx2 && f.fma) return SimdLevel::Avx2;
  return SimdLevel::Generic;
}

std::atomic<SimdLevel>& active() {
  static std::atomic<SimdLevel> level{detected_simd_level()};
  return level;
}

}  // namespace

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Generic: return "generic";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Avx512: return "avx512";
  }
  return "?";
}

SimdLevel detected_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel active_simd_level() { return active().load(std::memory_order_relaxed); }

ScopedSimdLevel::ScopedSimdLevel(SimdLevel level) {
  EMBER_CHECK(static_cast<int>(level) <= static_cast<int>(detected_simd_level()),
              "ScopedSimdLevel: this CPU supports up to {}, not {}", simd_level_name(detected_simd_level()),
              simd_level_name(level));
  previous_ = active().exchange(level);
}

ScopedSimdLevel::~ScopedSimdLevel() {
  active().store(previous_);
}

const FloatTileKernels* float_tile_kernels(SimdLevel level) {
#if defined(__x86_64__)
  switch (level) {
    case SimdLevel::Generic: return nullptr;
    case SimdLevel::Avx2: return &avx2_tile_kernels();
    case SimdLevel::Avx512: return &avx512_tile_kernels();
  }
#endif
  return nullptr;  // elsewhere the level is always Generic
}

}  // namespace ember::cpu
