// CPU thread count for Ember's OpenMP kernels and OpenBLAS (which uses the same OpenMP runtime).
#pragma once

namespace ember {

void set_num_threads(int threads);
int get_num_threads();

}  // namespace ember
