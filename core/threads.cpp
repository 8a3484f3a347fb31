// OpenMP thread control; OpenBLAS is the OpenMP build and follows the same setting.
#include "core/threads.h"

#include <omp.h>

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

}  // namespace ember
