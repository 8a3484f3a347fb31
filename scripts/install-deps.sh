#!/usr/bin/env bash
# Installs Ember's build and test dependencies from Debian packages, idempotently.
# Skips apt entirely when everything is already present, so re-runs cost nothing.
#   scripts/install-deps.sh           build, test and copy-task dependencies
#   scripts/install-deps.sh --bench   also PyTorch (CPU), for bench/'s side-by-side comparisons only
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
          doctest-dev libfmt-dev libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev gnuplot-nox
          # the fuzzers (scripts/fuzz.sh): clang, its OpenMP, and compiler-rt's libFuzzer and
          # sanitizer runtimes (libclang-rt-dev since Debian 12 / Ubuntu 23.04; before that they
          # came with libclang-common-*-dev, which clang depends on)
          clang libomp-dev libclang-rt-dev)
[ "${1:-}" = "--bench" ] && packages+=(python3-torch)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
if [[ " ${missing[*]} " == *" libclang-rt-dev "* ]] && ! apt-cache show libclang-rt-dev > /dev/null 2>&1; then
  # An older release: clang already brings the runtimes.
  kept=()
  for p in "${missing[@]}"; do [ "$p" = libclang-rt-dev ] || kept+=("$p"); done
  missing=("${kept[@]}")
fi
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
