#!/usr/bin/env bash
# The GPU benchmarks (issue #6), for a machine with an NVIDIA GPU, nvcc and PyTorch with CUDA:
#   attention   forward+backward, Ember vs PyTorch on the same GPU (PyTorch's fused SDPA for
#               softmax, its chunked formulation for causal linear attention), N = 2^9 .. 2^16,
#               float32 and bfloat16 autocast
#   copy_task   the seed study's protocol on CUDA (encoder-decoder, full size, N = 8, 16, 32, 64,
#               3000 steps, both kinds) with the timing sweep to N = 65,536
# Results go to bench/results/<date>-gpu/ with the GPU's name and the commit.
#   bench/gpu.sh [attention|copy_task|all]      (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in attention | copy_task | all) ;; *) echo "usage: bench/gpu.sh [attention|copy_task|all]" >&2; exit 2 ;; esac
command -v nvidia-smi > /dev/null || { echo "bench/gpu.sh: no nvidia-smi: this needs an NVIDIA GPU" >&2; exit 2; }
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ember_bench copy_task > /dev/null
out="bench/results/$(date +%Y-%m-%d)-gpu"
mkdir -p "$out"
{
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
  echo "- PyTorch: $(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')"
} > "$out/machine.md"

if [ "$what" != copy_task ]; then
  raw="$out/raw.csv"
  echo "impl,op,kind,causal,B,H,N,D,seconds,peak_rss_bytes,gflops" > "$raw.tmp"
  lengths=512,1024,2048,4096,8192,16384,32768,65536
  both() {
    ./build/bench/ember_bench attention "$@" --device cuda --no-header >> "$raw.tmp"
    python3 bench/torch_reference.py attention "$@" --device cuda --no-header >> "$raw.tmp"
  }
  for precision in fp32 bf16; do
    both --kind softmax --causal --n "$lengths" --precision "$precision"
    both --kind softmax --n "$lengths" --precision "$precision"
    both --kind linear --causal --n "$lengths" --precision "$precision"
  done
  mv "$raw.tmp" "$raw"
  { echo "# Ember vs PyTorch on the GPU: attention forward+backward"; echo; cat "$out/machine.md"; echo
    python3 bench/ratios.py "$raw"; } > "$out/summary.md"
  cat "$out/summary.md"
fi

if [ "$what" != attention ]; then
  ./build/apps/copy_task/copy_task --device cuda --protocol seed --scale full --seq-lens 8,16,32,64 \
    --attention both --sweep-max 65536 --out "$out/copy_task"
fi
