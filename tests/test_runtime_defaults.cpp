// ember::better_openblas_core: the OpenBLAS core asked for when OpenBLAS picked kernels below what
// the CPU's instruction sets allow (a virtual machine that hides the CPU model), and nothing when
// it did not (ops/runtime_defaults.h).
#include <doctest/doctest.h>

#include <ember/ember.h>

using namespace ember;

namespace {
CpuFeatures avx2_fma() {
  CpuFeatures f;
  f.avx2 = f.fma = true;
  return f;
}
CpuFeatures avx512() {
  CpuFeatures f = avx2_fma();
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512cd = true;
  return f;
}
}  // namespace

TEST_CASE("runtime defaults: OpenBLAS's generic kernels on an AVX-512 CPU are replaced by SkylakeX") {
  CHECK(better_openblas_core("Prescott", avx512()) == std::optional<std::string>("SkylakeX"));
  CHECK(better_openblas_core("Nehalem", avx512()) == std::optional<std::string>("SkylakeX"));
  CHECK(better_openblas_core("Sandybridge", avx512()) == std::optional<std::string>("SkylakeX"));
  CHECK(better_openblas_core("Haswell", avx512()) == std::optional<std::string>("SkylakeX"));
  CHECK(better_openblas_core("Zen", avx512()) == std::optional<std::string>("SkylakeX"));
}

TEST_CASE("runtime defaults: an AVX2 CPU gets Haswell, never an AVX-512 core") {
  CHECK(better_openblas_core("Prescott", avx2_fma()) == std::optional<std::string>("Haswell"));
  CHECK(better_openblas_core("SANDYBRIDGE", avx2_fma()) == std::optional<std::string>("Haswell"));
  CpuFeatures partial = avx2_fma();
  partial.avx512f = true;  // F alone (no BW/DQ/VL) is not enough for OpenBLAS's SkylakeX kernels
  CHECK(better_openblas_core("Prescott", partial) == std::optional<std::string>("Haswell"));
  CpuFeatures no_fma;
  no_fma.avx2 = true;
  CHECK_FALSE(better_openblas_core("Prescott", no_fma).has_value());
}

TEST_CASE("runtime defaults: a core OpenBLAS chose well is kept") {
  CHECK_FALSE(better_openblas_core("SkylakeX", avx512()).has_value());
  CHECK_FALSE(better_openblas_core("Cooperlake", avx512()).has_value());
  CHECK_FALSE(better_openblas_core("SapphireRapids", avx512()).has_value());
  CHECK_FALSE(better_openblas_core("Haswell", avx2_fma()).has_value());
  CHECK_FALSE(better_openblas_core("Zen", avx2_fma()).has_value());
  CHECK_FALSE(better_openblas_core("Prescott", CpuFeatures{}).has_value());  // an SSE-only CPU
  CHECK_FALSE(better_openblas_core("ARMV8", avx2_fma()).has_value());         // not an x86 core name
}
