#!/usr/bin/env bash
# Builds Ember on a machine that has a compiler, CMake, ninja and nvcc but no package registry
# (the GPU machines lent through the device tool): the Debian packages Ember builds against are
# downloaded on a machine with apt, travel as .deb files, and are unpacked beside the checkout.
#   scripts/device-deps.sh fetch   # with apt: .device-deps/debs/*.deb (git-ignored; ~20 MiB)
#   scripts/device-deps.sh build   # on the GPU machine: unpack, configure and build build/
#   source .device-deps/env.sh     # then: the library path for the unpacked OpenBLAS and fmt
# cuDNN is taken from the nvidia-cudnn Python wheel when python3 has it (as PyTorch's images do).
set -euo pipefail
cd "$(dirname "$0")/.."
debs="$PWD/.device-deps/debs" root="$PWD/.device-deps/root"
packages=(libfmt-dev libfmt9 doctest-dev libcli11-dev nlohmann-json3-dev
          libopenblas-openmp-dev libopenblas0-openmp libgfortran5 libquadmath0)

case "${1:-}" in
  fetch)
    mkdir -p "$debs"
    (cd "$debs" && apt-get download "${packages[@]}")
    du -sh "$debs"
    ;;
  build)
    [ -d "$debs" ] || { echo "device-deps: no $debs: run 'scripts/device-deps.sh fetch' where apt works" >&2; exit 2; }
    mkdir -p "$root"
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
    arch="$(gcc -dumpmachine)"
    echo "export LD_LIBRARY_PATH=$root/usr/lib/$arch:$root/usr/lib/$arch/openblas-openmp:$root/lib/$arch\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \
      > .device-deps/env.sh
    # shellcheck source=/dev/null
    source .device-deps/env.sh
    cudnn_root="$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2> /dev/null || true)"
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_DEPS_ROOT="$root" \
      ${cudnn_root:+-DEMBER_CUDNN_ROOT="$cudnn_root"}
    cmake --build build --parallel "$(nproc)"
    ;;
  *)
    echo "usage: scripts/device-deps.sh fetch|build" >&2
    exit 2
    ;;
esac
