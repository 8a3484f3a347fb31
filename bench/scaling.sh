#!/usr/bin/env bash
# Data-parallel scaling on one machine: one copy-task training step (`ember_bench train`) as
#   1 process x 1 thread,  1 process x 2 threads,  mpirun -np 2 x 1 thread each (DDP),
# for the paper's small model and the seed study's model, interleaved for ROUNDS rounds (this host's
# timings drift; medians over rounds). The global batch is the same in all three. Writes raw.csv
# and README.md (speedup, efficiency, all-reduce time and the part hidden behind backward) to
# bench/results/<date>-ddp-scaling/.
#   bench/scaling.sh [build dir, default build] [rounds, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
rounds="${2:-5}"
bench="$build/bench/ember_bench"
[ -x "$bench" ] || { echo "scaling.sh: build ember_bench in $build first" >&2; exit 2; }
command -v mpirun > /dev/null || { echo "scaling.sh: mpirun not found (scripts/install-deps.sh installs Open MPI)" >&2; exit 2; }
out="bench/results/$(date +%Y-%m-%d)-ddp-scaling"
mkdir -p "$out"
raw="$out/raw.csv"
echo "round,config,impl,op,kind,causal,B,H,N,D,seconds,peak_rss_bytes,gflops" > "$raw.tmp"
notes="$(mktemp)"
trap 'rm -f "$notes" "$raw.tmp"' EXIT

paper=(train --protocol paper --kind softmax --d-model 128 --layers 2 --heads 8 --batch 16 --n 32 --warmup 3 --repeats 15)
seed=(train --protocol seed --kind softmax --d-model 512 --layers 4 --heads 8 --batch 8 --n 64 --warmup 2 --repeats 7)
record() {  # record CONFIG COMMAND...: appends the command's CSV rows, tagged
  local config="$1" round_="$2"
  shift 2
  "$@" --no-header 2>> "$notes" | sed "s/^/$round_,$config,/" >> "$raw.tmp"
}
for round in $(seq 1 "$rounds"); do
  for model in paper seed; do
    declare -n args="$model"
    record "1x1" "$round" env OMP_NUM_THREADS=1 "$bench" "${args[@]}" --threads 1
    record "1x2" "$round" env OMP_NUM_THREADS=2 "$bench" "${args[@]}" --threads 2
    record "2x1" "$round" mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 \
      "$bench" "${args[@]}" --threads 1
    unset -n args
  done
done
mv "$raw.tmp" "$raw"

{
  echo "# Data-parallel scaling on one machine"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD); CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- command: \`bench/scaling.sh $build $rounds\` ($(mpirun --version | head -n 1))"
  echo "- the same global batch in every configuration; medians over $rounds interleaved rounds"
  echo "- $(sort -u "$notes" | grep 'gradient bytes' | tr '\n' ' ')"
  echo
  python3 - "$raw" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def median(config, op):
    values = [float(r["seconds"]) for r in rows if r["config"] == config and r["op"] == op]
    return statistics.median(values) if values else float("nan")
print("| model | 1 proc x 1 thread | 1 proc x 2 threads | 2 procs x 1 thread | speedup 2x1 / 1x1 | efficiency | 2x1 vs 1x2 | all-reduce alone | backward waited | hidden |")
print("|---|---|---|---|---|---|---|---|---|---|")
for protocol, name in (("paper", "paper small (d 128, 2 layers, B 16, N 32)"), ("seed", "seed (d 512, 4+4 layers, B 8, N 64)")):
    step = f"train_step_{protocol}"
    one, two_threads, two_ranks = median("1x1", step), median("1x2", step), median("2x1", step)
    alone, waited = median("2x1", f"allreduce_{protocol}"), median("2x1", f"sync_wait_{protocol}")
    speedup = one / two_ranks
    hidden = max(0.0, 1 - waited / alone) if alone > 0 else float("nan")
    print(f"| {name} | {one*1e3:.1f} ms | {two_threads*1e3:.1f} ms | {two_ranks*1e3:.1f} ms | {speedup:.2f} | "
          f"{speedup/2:.0%} | {two_threads/two_ranks:.2f} | {alone*1e3:.2f} ms | {waited*1e3:.2f} ms | {hidden:.0%} |")
EOF
  echo
  echo "Speedup: step time of one single-threaded process over that of two single-threaded ranks"
  echo "(ideal 2); efficiency = speedup / 2. \"2x1 vs 1x2\" > 1 means two ranks beat one process with"
  echo "two OpenMP threads. \"all-reduce alone\": the step's gradient buckets all-reduced with nothing"
  echo "else running; \"backward waited\": how long the end of backward blocked on them in the step;"
  echo "hidden = 1 - waited / alone."
} > "$out/README.md.tmp"
mv "$out/README.md.tmp" "$out/README.md"
cat "$out/README.md"
