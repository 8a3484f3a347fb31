// CPU thread count for Ember's OpenMP kernels and OpenBLAS (which uses the same OpenMP runtime).
#pragma once

namespace ember {

// threads must lie in [1, max_num_threads()]; anything else throws ember::Error.
void set_num_threads(int threads);
// The most threads set_num_threads accepts: 4 x the hardware threads.
int max_num_threads();
int get_num_threads();

// OpenMP's wait behaviour for a program built on Ember. Between parallel regions, idle OpenMP
// threads spin before they sleep: GNU libgomp's default is 300,000 spins, so on a machine where
// another process is busy the spinning threads take the cores from the threads with work. libgomp
// reads GOMP_SPINCOUNT and OMP_WAIT_POLICY once, when it is loaded, before main: a program can
// change them only for the process it starts. So, called first thing in main: when the user set
// neither variable, this sets GOMP_SPINCOUNT=10000 and re-executes the program with the same
// arguments (execv of /proc/self/exe, no shell; the same process id); otherwise, or when that is
// impossible, it returns and nothing changes. Measured (bench/contention.sh, 2 threads, 2 cores,
// bench/results/2026-12-03-openmp-contention): a copy-task run took 15.3 s alone and 75.9 s beside
// one busy process with libgomp's default, 14.7 s and 40.3 s with 10000, per-token generation
// unchanged; OMP_WAIT_POLICY=passive gave 27.3 s beside the busy process but 17.5 s alone and
// 1.2-1.3x slower generation, so it stays the user's choice.
void apply_openmp_wait_defaults(char** argv);

}  // namespace ember
