// Process-wide settings of the CPU runtimes Ember runs on (GNU libgomp, OpenBLAS) that can only be
// chosen before a process starts: both libraries read their environment variables once, when they
// are loaded, before main. A program changes them for itself by re-executing itself.
//
// apply_runtime_defaults(argv), called first thing in main, fills in what the user left unset and,
// when it changed anything, re-executes the program with the same arguments (execv of
// /proc/self/exe: no shell, the same process id); when nothing needs changing, or the re-execution
// is impossible, it returns and the process goes on as it was. copy_task and ember_bench call it;
// programs of your own can too. A variable the user set is never overridden.
//
//   GOMP_SPINCOUNT=10000 (unless GOMP_SPINCOUNT or OMP_WAIT_POLICY is set): idle OpenMP threads
//     spin 10,000 times instead of libgomp's 300,000 before they sleep, so a busy machine does not
//     lose its cores to spinning. bench/contention.sh, 2 threads on 2 cores
//     (bench/results/2026-12-03-openmp-contention): a copy-task run took 15.3 s alone and 75.9 s
//     beside one busy process with libgomp's default, 14.7 s and 40.3 s with 10000, per-token
//     generation unchanged; OMP_WAIT_POLICY=passive gave 27.3 s beside the busy process but 17.5 s
//     alone and 1.2-1.3x slower generation, so it stays the user's choice.
//   OPENBLAS_CORETYPE (unless set): OpenBLAS picks its kernels from the CPU model, and a virtual
//     machine that hides the model (a generic "Intel Xeon Processor") gets the generic "Prescott"
//     SSE3 kernels although the CPU has AVX2 or AVX-512: 37 GFLOP/s instead of 289 (SGEMM
//     1024^3, 2 threads, on such a machine). When OpenBLAS reports a core below what the CPU's
//     features allow, the core those features allow is named (SkylakeX with AVX-512 F/BW/DQ/VL/CD,
//     Haswell with AVX2 and FMA).
#pragma once

#include <optional>
#include <string>

namespace ember {

void apply_runtime_defaults(char** argv);

// The instruction-set extensions that decide OpenBLAS's x86 kernels.
struct CpuFeatures {
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false,
       avx512cd = false;
};
CpuFeatures detected_cpu_features();

// The OPENBLAS_CORETYPE to ask for when OpenBLAS runs `current` (openblas_get_corename()) on a CPU
// with `features`, or nullopt when `current` is already as good as the features allow.
std::optional<std::string> better_openblas_core(const std::string& current, const CpuFeatures& features);

}  // namespace ember
