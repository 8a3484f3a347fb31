#!/usr/bin/env bash
# Installs dependencies, builds Ember (Release, CUDA compiled if nvcc is present) and runs the
# whole test suite with CTest. Usage: scripts/test.sh [extra ctest args, e.g. -L gradcheck]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)"
# Sequential on purpose: every test already uses all cores through OpenMP, and two OpenMP
# processes sharing 2 cores spin against each other (the suite runs ~10x slower in parallel).
ctest --test-dir build --output-on-failure "$@"
