#!/usr/bin/env bash
# Installs dependencies, builds Ember and runs the main job. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)"
./build/apps/mlp/mlp_example "$@"
