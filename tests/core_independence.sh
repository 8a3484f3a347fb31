#!/usr/bin/env bash
# Fails when core/, Ember's ground floor, reaches a floor above it. The floors are
# core -> autograd -> ops -> cuda/nn: core knows no backend and no kernel table; backends reach it
# through the device hooks they register (core/device_hooks.h), and Tensor's methods that run
# kernels are defined in ops/tensor_methods.cpp. Checked here:
#   - core/ includes only core/ headers (no autograd/, ops/, nn/, cuda/) and no CUDA library header;
#   - core/ names no kernel table (`_stub`) and does not ask which backends were compiled
#     (EMBER_WITH_CUDA, EMBER_WITH_CUDNN);
#   - with a compiler given, every core/*.cpp compiles (syntax only) against a copy of core/ alone.
#   core_independence.sh SOURCE_DIR [CXX [INCLUDE_DIRS]]   (INCLUDE_DIRS: ';'-separated, e.g. fmt's)
set -euo pipefail
cd "$1"
cxx="${2:-}"
include_dirs="${3:-}"
status=0

report() {  # report TITLE HITS
  if [ -n "$2" ]; then
    echo "$1:"
    echo "$2"
    status=1
  fi
}

quoted_include='^[[:space:]]*#[[:space:]]*include[[:space:]]*"'
report "core/ includes a header from outside core/" \
  "$(grep -rnE "$quoted_include" core | grep -vE "${quoted_include#^}core/" || true)"
report "core/ includes a CUDA library header" \
  "$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(cuda|cublas|cudnn|nvrtc)' core || true)"
report "core/ refers to a kernel table" "$(grep -rn '_stub' core || true)"
report "core/ asks which backends were compiled (use core/device_hooks.h)" \
  "$(grep -rnE 'EMBER_WITH_CUDA|EMBER_WITH_CUDNN' core || true)"

if [ -n "$cxx" ]; then
  alone="$(mktemp -d)"
  trap 'rm -rf "$alone"' EXIT
  cp -r core "$alone/"
  flags=(-std=c++20 -fsyntax-only -I "$alone")
  IFS=';' read -r -a dirs <<< "$include_dirs"
  for dir in "${dirs[@]}"; do
    [ -n "$dir" ] && flags+=(-idirafter "$dir")  # after the system directories: keeps their order
  done
  # Two at a time: each file is a second or so of parsing fmt.
  if ! printf '%s\0' "$alone"/core/*.cpp | xargs -0 -n 1 -P 2 "$cxx" "${flags[@]}"; then
    echo "core/*.cpp do not compile with only core/ on the include path (errors above)"
    status=1
  fi
fi

if [ "$status" -eq 0 ]; then
  echo "core/ is independent: $(ls core/*.cpp core/*.h | wc -l) files include only core/ headers and name no" \
       "kernel table${cxx:+; every core/*.cpp compiles alone}"
fi
exit "$status"
