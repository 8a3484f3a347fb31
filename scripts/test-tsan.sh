#!/usr/bin/env bash
# Builds the test suite with ThreadSanitizer (gcc, CUDA off, no apps or benchmarks) in build-tsan/
# and runs the concurrency tests under it: two threads sharing one leaf, two models trained in two
# threads at once. Any data race report fails the run (halt_on_error).
#
# OpenMP stays at one thread per calling thread here: GCC's libgomp is not built with TSan, so
# TSan cannot see the synchronisation inside its barriers and would report every parallel loop.
# The threads under test are the application's std::threads, which TSan does see.
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# -O1 -g1 (line tables): instrumented code compiles 2-3x faster than at -O2 -g, which was most of
# this stage's time on 2 cores, and sanitizer reports still name file and line.
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEMBER_CUDA=OFF \
  -DEMBER_SANITIZE=thread -DEMBER_BUILD_BENCH=OFF -DEMBER_BUILD_APPS=OFF > /dev/null
cmake --build build-tsan --parallel "$(nproc)" --target ember_tests
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
export OMP_NUM_THREADS=1
ctest --test-dir build-tsan --output-on-failure -R "^concurrency:|^edge case 3:" "$@"
