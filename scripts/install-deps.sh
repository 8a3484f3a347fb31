#!/usr/bin/env bash
# Installs Ember's build and test dependencies from Debian packages, idempotently.
# Skips apt entirely when everything is already present, so re-runs cost nothing.
#   scripts/install-deps.sh           build, test and copy-task dependencies (Open MPI included)
#   scripts/install-deps.sh --bench   also, for bench/'s side-by-side comparisons only: Debian's
#                                     PyTorch 1.13 (python3-torch) and a current PyTorch 2.x from PyPI
#                                     in .venv-bench/ (git-ignored, ~4 GB; the pinned set and why each
#                                     package is there: bench/requirements-torch2.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=0
[ "${1:-}" = "--bench" ] && bench=1

packages=(build-essential cmake ninja-build pkg-config
          doctest-dev libfmt-dev libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev gnuplot-nox
          # the fuzzers (scripts/fuzz.sh): clang, its OpenMP, and compiler-rt's libFuzzer and
          # sanitizer runtimes (libclang-rt-dev since Debian 12 / Ubuntu 23.04; before that they
          # came with libclang-common-*-dev, which clang depends on)
          clang libomp-dev libclang-rt-dev
          # distributed/: Open MPI launches the processes and reduces CPU tensors (mpirun, mpi.h)
          libopenmpi-dev openmpi-bin)
[ "$bench" = 1 ] && packages+=(python3-torch python3-venv)

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    return
  fi
  local sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  if [[ " ${missing[*]} " == *" libclang-rt-dev "* ]] && ! apt-cache show libclang-rt-dev > /dev/null 2>&1; then
    # An older release: clang already brings the runtimes.
    local kept=()
    for p in "${missing[@]}"; do [ "$p" = libclang-rt-dev ] || kept+=("$p"); done
    missing=("${kept[@]}")
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# PyTorch 2.x from PyPI in .venv-bench/, with `pip --no-deps`: exactly the pinned wheels of
# bench/requirements-torch2.txt, not the rest of what torch's metadata asks for (triton,
# cuda-bindings, cusolver, ...: unused on the CPU). The venv is Debian's /usr/bin/python3, not
# whichever python3 comes first on PATH. The requirement lines (comments dropped) saved in the venv
# mark a finished, verified install: when they match, nothing runs; when they differ (or a step
# failed), the venv is rebuilt from scratch.
bench_venv() {
  local venv=.venv-bench req=bench/requirements-torch2.txt
  local stamp="$venv/ember-requirements.txt" pins
  pins="$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$req")"
  if [ -x "$venv/bin/python" ] && [ "$pins" = "$(cat "$stamp" 2> /dev/null)" ]; then
    echo "install-deps: $venv up to date ($(sed -n 's/^torch==\([^ ]*\).*/torch \1/p' "$req"))"
    return
  fi
  fail() { echo "install-deps: $venv: $*" >&2; exit 1; }
  echo "install-deps: building $venv from $req (about 4 GB of wheels from PyPI)"
  /usr/bin/python3 -m venv --clear "$venv" ||
    fail "'/usr/bin/python3 -m venv' failed (is python3-venv installed?)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet --no-deps --only-binary=:all: \
    --no-cache-dir -r "$req" || fail "pip install -r $req failed (PyPI unreachable? a pinned version gone?)"
  EMBER_TORCH_PIN="$(sed -n 's/^torch==\([^ ]*\).*/\1/p' "$req")" "$venv/bin/python" -W ignore - <<'PY' ||
import os, sys
import torch
import torch.nn.functional as F
version = torch.__version__.split("+")[0]
if version != os.environ["EMBER_TORCH_PIN"]:
    sys.exit(f"torch {torch.__version__} imported, {os.environ['EMBER_TORCH_PIN']} pinned")
q = torch.randn(1, 8, 128, 64, requires_grad=True)
out = F.scaled_dot_product_attention(q, q, q, is_causal=True)  # the softmax reference
out.sum().backward()  # backward imports sympy
opt = torch.optim.Adam([q])  # the optimizer imports torch._dynamo
opt.step()
# Every CUDA library must come from the venv's wheels: one resolved from a system CUDA
# (ld.so.conf, LD_LIBRARY_PATH) would hide a library missing from the pinned set.
prefix = os.path.realpath(sys.prefix)
outside = sorted({line.split()[-1] for line in open("/proc/self/maps")
                  if "/lib" in line and any(s in line.rsplit("/", 1)[-1] for s in ("libcu", "libnv", "libnccl"))
                  and not os.path.realpath(line.split()[-1]).startswith(prefix)})
if outside:
    sys.exit("CUDA libraries loaded from outside the venv (add their wheels to the requirements):\n  "
             + "\n  ".join(outside))
print(f"install-deps: torch {torch.__version__} imports; oneDNN {torch.backends.mkldnn.is_available()}, "
      f"SDPA {tuple(out.shape)} forward+backward, Adam step: ok")
PY
    fail "the check of torch in $venv failed (see above)"
  echo "$pins" > "$stamp"
  echo "install-deps: $venv ready, $(du -sh "$venv" | cut -f1)"
}

install_packages
if [ "$bench" = 1 ]; then
  bench_venv
fi
