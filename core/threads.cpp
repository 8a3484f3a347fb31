// OpenMP thread control; OpenBLAS is the OpenMP build and follows the same setting.
#include "core/threads.h"

#include <omp.h>

#include "core/error.h"

namespace ember {

void set_num_threads(int threads) {
  EMBER_CHECK(threads >= 1, "set_num_threads: need at least 1 thread, got {}", threads);
  omp_set_num_threads(threads);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace ember
