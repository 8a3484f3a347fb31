// OpenMP thread control; OpenBLAS is the OpenMP build and follows the same setting.
#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace ember {

int max_num_threads() {
  const unsigned hardware = std::thread::hardware_concurrency();  // 0 when unknown
  return 4 * static_cast<int>(hardware > 0 ? hardware : 1);
}

void set_num_threads(int threads) {
  // OpenMP itself accepts any count and then fails (or crashes) creating the threads.
  EMBER_CHECK(threads >= 1 && threads <= max_num_threads(),
              "set_num_threads: {} threads requested; allowed are 1 to {} (4 x the {} hardware "
              "threads of this machine)", threads, max_num_threads(), max_num_threads() / 4);
  omp_set_num_threads(threads);
}

int get_num_threads() { return omp_get_max_threads(); }

void apply_openmp_wait_defaults(char** argv) {
  if (argv == nullptr || argv[0] == nullptr) return;
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "10000", /*overwrite=*/0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only when it failed: carry on with the defaults
  unsetenv("GOMP_SPINCOUNT");
}

}  // namespace ember
