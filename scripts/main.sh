#!/usr/bin/env bash
# Installs dependencies, builds Ember's copy-task app and runs it on its small default (about 4
# minutes on 2 cores). Extra arguments go to the app (see: build/apps/copy_task/copy_task --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)" --target copy_task
./build/apps/copy_task/copy_task "$@"
