#!/usr/bin/env bash
# How Ember degrades on a busy machine: the same 2-thread copy-task run (150 steps of the small
# default, no sweep) alone and beside one busy process, and per-token generation alone, for each
# OpenMP wait setting: libgomp's own default (GOMP_SPINCOUNT=300000, what Ember ran with before it
# set its default), Ember's default (nothing set: apply_runtime_defaults picks 10000), and
# OMP_WAIT_POLICY=passive. Prints CSV and writes it to bench/results/<date>-openmp-contention/.
#   bench/contention.sh [build dir, default build]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
copy_task="$build/apps/copy_task/copy_task"
bench="$build/bench/ember_bench"
[ -x "$copy_task" ] && [ -x "$bench" ] || { echo "contention.sh: build copy_task and ember_bench in $build first" >&2; exit 2; }
out="bench/results/$(date +%Y-%m-%d)-openmp-contention"
mkdir -p "$out"
work="$(mktemp -d)"
busy_pid=""
trap 'rm -rf "$work"; [ -n "$busy_pid" ] && kill "$busy_pid" 2> /dev/null || true' EXIT
settings=("libgomp default:GOMP_SPINCOUNT=300000" "Ember default:" "passive:OMP_WAIT_POLICY=passive")
csv="setting,workload,competitor,seconds"
for setting in "${settings[@]}"; do
  name="${setting%%:*}" assignment="${setting#*:}"
  environment=(env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY ${assignment:+"$assignment"})
  for competitor in none busy; do
    if [ "$competitor" = busy ]; then
      python3 -c "while True: pass" &
      busy_pid=$!
    fi
    rm -rf "$work/run"
    start=$(date +%s.%N)
    "${environment[@]}" "$copy_task" --steps 150 --no-sweep --eval-sequences 32 --threads 2 --out "$work/run" > /dev/null
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    if [ -n "$busy_pid" ]; then kill "$busy_pid"; wait "$busy_pid" 2> /dev/null || true; busy_pid=""; fi
    csv+=$'\n'"$name,copy_task 150 steps,$competitor,$seconds"
  done
  for kind in softmax linear; do
    seconds=$("${environment[@]}" "$bench" generate --kind "$kind" --positions 64 --threads 2 --no-header 2> /dev/null |
              cut -d, -f9)
    csv+=$'\n'"$name,generate one token ($kind at 64),none,$seconds"
  done
done
echo "$csv" | tee "$out/contention.csv"
{
  echo "# OpenMP wait behaviour under contention"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD); CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- busy competitor: one Python process spinning on the same cores; 2 Ember threads"
  echo
  echo '```'
  echo "$csv"
  echo '```'
} > "$out/README.md"
