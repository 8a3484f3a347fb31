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
//   GOMP_SPINCOUNT=3000 (unless GOMP_SPINCOUNT or OMP_WAIT_POLICY is set): idle OpenMP threads
//     spin 3,000 times instead of libgomp's 300,000 before they sleep, so a busy machine does not
//     lose its cores to spinning. bench/contention.sh, 2 threads on 2 cores, interleaved rounds
//     (bench/results/2026-12-04-openmp-contention): beside one busy process a copy-task run is
//     6.3x slower than alone with libgomp's default, 4.0-4.5x with 10000 (this default until
//     2026-12-04), 2.4x with 3000, 1.6x with 1000; alone, 3000 costs 1-18 % against 10000 on
//     small models (more sleeping threads to wake between short parallel regions) and 1000 about
//     40 %. OMP_WAIT_POLICY=passive does best beside a busy process but costs 30-50 % alone, so
//     it stays the user's choice. On a 2-core AMD Zen 2 VM 3000 gave 2.7x, 1000 2.4x and passive
//     1.4x, with no cost alone for either (bench/results/2026-12-04-zen2-openmp-contention): the
//     best value depends on the host, and 3000 is kept for the Intel one's quiet speed.
//     (Letting OpenBLAS's own threads sleep at once, OPENBLAS_THREAD_TIMEOUT=4, changed nothing.)
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
