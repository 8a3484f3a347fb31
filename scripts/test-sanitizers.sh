#!/usr/bin/env bash
# Builds Ember with AddressSanitizer and UndefinedBehaviorSanitizer (gcc, CUDA off, apps on) in
# build-asan/ and runs the test suite under them: an out-of-bounds access, a use after free, a
# leak or undefined behaviour fails the run. Left out: "copy_task: accuracy" (5 minutes normally,
# far longer instrumented; the other copy_task integration tests do run) and the package test
# (an instrumented libember cannot be linked by an uninstrumented program). Extra arguments go to
# ctest, e.g. scripts/test-sanitizers.sh -R "error inputs".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# -O1 -g1 (line tables): instrumented code compiles 2-3x faster than at -O2 -g, which was most of
# this stage's time on 2 cores, and sanitizer reports still name file and line.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEMBER_CUDA=OFF \
  -DEMBER_SANITIZE=address,undefined -DEMBER_BUILD_BENCH=OFF > /dev/null
cmake --build build-asan --parallel "$(nproc)"
# allocator_may_return_null: Ember reports an impossible allocation as ember::Error ("out of
# memory"), which the error-input tests check; by default ASan would abort instead.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Sleeping rather than spinning OpenMP workers: instrumented code on a shared 2-core machine
# otherwise loses whole time slices to threads spinning at barriers.
export OMP_WAIT_POLICY=passive
ctest --test-dir build-asan --output-on-failure -E "copy_task: accuracy" "$@"
