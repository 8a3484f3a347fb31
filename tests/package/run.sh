#!/usr/bin/env bash
# Package test: installs an already-built Ember into a scratch prefix, builds tests/package (an
# out-of-tree project that only uses find_package(ember)) against it, and runs it: its training
# loss must fall and a saved model must reload identically.
#   run.sh BUILD_DIR CMAKE_GENERATOR CXX_COMPILER
set -euo pipefail
BUILD="$1"
GENERATOR="$2"
CXX_COMPILER="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ember_package.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log" || { cat "$WORK/install.log"; fail "install failed"; }
for f in include/ember/ember.h include/ember/core/tensor.h include/ember/nn/optim/optimizer.h \
         lib/cmake/ember/emberConfig.cmake lib/cmake/ember/emberConfigVersion.cmake; do
  [ -f "$WORK/prefix/$f" ] || fail "not installed: $f"
done
ls "$WORK/prefix"/lib*/libember.so* > /dev/null || fail "libember not installed"
[ ! -e "$WORK/prefix/include/ember/ops/cpu" ] || fail "kernel internals (ops/cpu) were installed"

# Only the installed prefix is visible to the example: no include path into the source tree.
cmake -S "$HERE" -B "$WORK/build" -G "$GENERATOR" -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$WORK/prefix" > "$WORK/configure.log" \
  || { cat "$WORK/configure.log"; fail "configuring the example against the installed package failed"; }
cmake --build "$WORK/build" > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "building the example failed"; }
"$WORK/build/char_lm" "$HERE/text.txt" 60 || fail "the example's loss did not fall, or its reload differed"
