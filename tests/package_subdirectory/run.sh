#!/usr/bin/env bash
# Package test through add_subdirectory: configures tests/package_subdirectory (a project that
# vendors this source tree) in a scratch folder, builds it and runs the same character model as
# the installed-package test.
#   run.sh SOURCE_DIR CMAKE_GENERATOR CXX_COMPILER
set -euo pipefail
SOURCE="$1"
GENERATOR="$2"
CXX_COMPILER="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ember_vendored.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The CPU library only, unoptimised: CUDA and -O3 add build time and nothing to what this test checks.
cmake -S "$HERE" -B "$WORK/build" -G "$GENERATOR" -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DCMAKE_BUILD_TYPE=Debug -DEMBER_SOURCE_DIR="$SOURCE" -DEMBER_CUDA=OFF > "$WORK/configure.log" \
  || { cat "$WORK/configure.log"; fail "configuring the vendoring project failed"; }
cmake --build "$WORK/build" --parallel "$(nproc)" > "$WORK/build.log" 2>&1 \
  || { tail -50 "$WORK/build.log"; fail "building the vendoring project failed"; }
"$WORK/build/char_lm" "$HERE/../package/text.txt" 60 || fail "the example's loss did not fall, or its reload differed"
