// CPU thread count for Ember's OpenMP kernels and OpenBLAS (which uses the same OpenMP runtime).
#pragma once

namespace ember {

// threads must lie in [1, max_num_threads()]; anything else throws ember::Error.
void set_num_threads(int threads);
// The most threads set_num_threads accepts: 4 x the hardware threads.
int max_num_threads();
int get_num_threads();

}  // namespace ember
