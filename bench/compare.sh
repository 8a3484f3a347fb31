#!/usr/bin/env bash
# Runs Ember's benchmarks and PyTorch's reference side by side in one invocation (each point:
# Ember, then a current PyTorch 2.x, then Debian's PyTorch 1.13, on the same shapes and thread
# count), stores the CSV under bench/results/<date>-<host>-<mode>/ and prints the Ember/PyTorch
# ratios against both. PyTorch 2.x (its fused SDPA is the reference for softmax attention) is the
# pinned PyPI build in .venv-bench/, 1.13 is python3-torch; `scripts/install-deps.sh --bench` sets
# up both.
#   bench/compare.sh quick   # ~5 minutes on 2 cores with one PyTorch; the second adds its share
#   bench/compare.sh full    # the numbers for the performance targets (long sequences too), ~8 min
#   ROUNDS=3 bench/compare.sh full   # three interleaved passes over every point: the table shows
#                                    # medians (bench/ratios.py), steadier on a busy host
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-quick}"
[ "$mode" = quick ] || [ "$mode" = full ] || { echo "usage: [ROUNDS=k] bench/compare.sh [quick|full]" >&2; exit 2; }
rounds="${ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
bash scripts/install-deps.sh --bench > /dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ember_bench > /dev/null
threads="$(nproc)"
export OMP_NUM_THREADS="$threads"  # one OpenMP pool shared with OpenBLAS; no oversubscription
out="bench/results/$(date +%Y-%m-%d)-$(hostname -s)-$mode"
mkdir -p "$out"
raw="$out/raw.csv"
echo "impl,op,kind,causal,B,H,N,D,seconds,peak_rss_bytes,gflops" > "$raw.tmp"
ember() { ./build/bench/ember_bench "$@" --threads "$threads" --no-header 2> /dev/null; }
torch2=.venv-bench/bin/python  # PyTorch 2.x from PyPI, pinned in bench/requirements-torch2.txt
torch1=/usr/bin/python3        # Debian's python3-torch 1.13
torchref() { "$1" bench/torch_reference.py "${@:2}" --threads "$threads" --no-header 2> /dev/null; }
torchrefs() { torchref "$torch2" "$@"; torchref "$torch1" "$@"; }
both() { ember "$@" >> "$raw.tmp"; torchrefs "$@" >> "$raw.tmp"; }

if [ "$mode" = quick ]; then
  softmax_n=(512 1024 2048); linear_n=(128 1024 4096); positions=64,16384
else
  softmax_n=(128 512 1024 2048 4096); linear_n=(128 1024 4096 16384 65536); positions=64,1024,16384,65536
fi
for round in $(seq "$rounds"); do
  both gemm --shapes 512x512x512,1024x1024x1024,4096x64x64
  for causal in --causal ""; do
    for n in "${softmax_n[@]}"; do both attention --kind softmax $causal --n "$n"; done
  done
  for n in "${linear_n[@]}"; do
    # PyTorch's chunked formulation is a Python loop over chunks: skip it past 16384.
    ember attention --kind linear --causal --n "$n" >> "$raw.tmp"
    [ "$n" -le 16384 ] && torchrefs attention --kind linear --causal --n "$n" >> "$raw.tmp"
  done
  for kind in softmax linear; do
    both train --protocol paper --kind "$kind" --d-model 128 --layers 2 --heads 8 --batch 16 --n 32
    [ "$mode" = full ] && both train --protocol seed --kind "$kind" --d-model 512 --layers 4 --heads 8 --batch 8 --n 64
    both generate --kind "$kind" --positions "$positions"
  done
done
mv "$raw.tmp" "$raw"
{
  echo "# Ember vs PyTorch 2.x and 1.13, $mode run"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD); host: $(hostname -s)"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads: $threads (OMP_NUM_THREADS); rounds: $rounds"
  echo "- PyTorch 2.x: $("$torch2" bench/torch_reference.py about) (PyPI, .venv-bench/, CPU)"
  echo "- PyTorch 1.13: $("$torch1" bench/torch_reference.py about) (Debian python3-torch, CPU)"
  echo
  /usr/bin/python3 bench/ratios.py "$raw"
} > "$out/summary.md"
cat "$out/summary.md"
