// Runtime defaults applied by re-executing the program (see runtime_defaults.h).
#include "ops/runtime_defaults.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

namespace ember {

namespace {

// OpenBLAS's x86-64 core names, by the instruction sets their kernels use; names not listed here
// (other architectures, future cores) are taken to be as good as the CPU allows.
int core_rank(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::vector<std::string> kSse = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                                "atom", "katmai", "coppermine", "northwood", "banias",
                                                "opteron", "barcelona", "bobcat", "unknown"};
  static const std::vector<std::string> kAvx = {"sandybridge", "bulldozer", "piledriver", "steamroller",
                                                "excavator"};
  static const std::vector<std::string> kAvx2 = {"haswell", "zen", "skylake"};
  if (std::find(kSse.begin(), kSse.end(), name) != kSse.end()) return 0;
  if (std::find(kAvx.begin(), kAvx.end(), name) != kAvx.end()) return 1;
  if (std::find(kAvx2.begin(), kAvx2.end(), name) != kAvx2.end()) return 2;
  return 3;  // SkylakeX, Cooperlake, SapphireRapids, and anything unknown to this table
}

bool unset(const char* variable) { return std::getenv(variable) == nullptr; }

}  // namespace

CpuFeatures detected_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512cd = __builtin_cpu_supports("avx512cd");
#endif
  return f;
}

std::optional<std::string> better_openblas_core(const std::string& current, const CpuFeatures& f) {
  const bool skylake_x = f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512cd && f.avx2 && f.fma;
  const bool haswell = f.avx2 && f.fma;
  const int rank = core_rank(current);
  if (skylake_x && rank < 3) return "SkylakeX";
  if (haswell && rank < 2) return "Haswell";
  return std::nullopt;
}

void apply_runtime_defaults(char** argv) {
  if (argv == nullptr || argv[0] == nullptr) return;
  std::vector<const char*> set_here;  // the variables this call set, to undo if execv fails
  if (unset("GOMP_SPINCOUNT") && unset("OMP_WAIT_POLICY") && setenv("GOMP_SPINCOUNT", "3000", 0) == 0)
    set_here.push_back("GOMP_SPINCOUNT");
  if (unset("OPENBLAS_CORETYPE")) {
    const char* core = openblas_get_corename();
    const auto better = better_openblas_core(core ? core : "unknown", detected_cpu_features());
    if (better && setenv("OPENBLAS_CORETYPE", better->c_str(), 0) == 0) set_here.push_back("OPENBLAS_CORETYPE");
  }
  if (set_here.empty()) return;
  execv("/proc/self/exe", argv);  // returns only when it failed: the process goes on as it was
  for (const char* variable : set_here) unsetenv(variable);
}

}  // namespace ember
