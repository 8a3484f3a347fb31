#!/usr/bin/env bash
# Installs dependencies, builds Ember's copy-task app and runs it on its small default (4 to 7
# minutes on 2 cores, by CPU). Extra arguments go to the app (see: build-main/apps/copy_task/copy_task --help).
# Without a GPU the CUDA backend is not compiled here (scripts/test.sh still compiles it), which
# keeps a fresh machine's build short.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cuda=OFF
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then cuda=ON; fi
cmake -S . -B build-main -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=$cuda -DEMBER_BUILD_TESTS=OFF
cmake --build build-main --parallel "$(nproc)" --target copy_task
./build-main/apps/copy_task/copy_task "$@"
