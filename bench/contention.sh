#!/usr/bin/env bash
# How Ember degrades on a busy machine: the same 2-thread copy-task run (150 steps of the small
# default, no sweep) alone and beside one busy process, and per-token generation alone, for each
# OpenMP wait setting: libgomp's own default (GOMP_SPINCOUNT=300000), 10000 (Ember's default until
# 2026-12-04), Ember's default (nothing set: apply_runtime_defaults picks 3000), 1000, and
# OMP_WAIT_POLICY=passive. Prints CSV and writes it to bench/results/<date>-openmp-contention/.
#   [ROUNDS=k] bench/contention.sh [build dir, default build]
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
# name:assignments (space-separated)
settings=("libgomp default:GOMP_SPINCOUNT=300000" "spin 10000:GOMP_SPINCOUNT=10000" "Ember default:"
          "spin 1000:GOMP_SPINCOUNT=1000" "passive:OMP_WAIT_POLICY=passive")
rounds="${ROUNDS:-1}"  # ROUNDS=k: k interleaved passes over every setting
csv="round,setting,workload,competitor,seconds"
for round in $(seq 1 "$rounds"); do
  for setting in "${settings[@]}"; do
    name="${setting%%:*}"
    read -r -a assignments <<< "${setting#*:}"
    environment=(env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "${assignments[@]}")
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
      csv+=$'\n'"$round,$name,copy_task 150 steps,$competitor,$seconds"
    done
    for kind in softmax linear; do
      seconds=$("${environment[@]}" "$bench" generate --kind "$kind" --positions 64 --threads 2 --no-header 2> /dev/null |
                cut -d, -f9)
      csv+=$'\n'"$round,$name,generate one token ($kind at 64),none,$seconds"
    done
  done
done
echo "$csv" | tee "$out/contention.csv"
# Per setting, the copy-task run's mean over rounds alone and beside the busy process, and the
# ratio (the #16 target: at most 2.5); "alone vs spin 10000": the quiet-time cost of the setting.
summary=$(awk -F, 'NR > 1 && $3 ~ /^copy_task/ {
    sum[$2 "," $4] += $5; n[$2 "," $4]++
    if (!($2 in seen)) { seen[$2] = 1; order[++count] = $2 }
  }
  END {
    print "| setting | alone (s) | beside a busy process (s) | busy / alone | alone vs spin 10000 |"
    print "|---|---|---|---|---|"
    base = sum["spin 10000,none"] / n["spin 10000,none"]
    for (i = 1; i <= count; i++) {
      s = order[i]; quiet = sum[s ",none"] / n[s ",none"]; busy = sum[s ",busy"] / n[s ",busy"]
      printf "| %s | %.2f | %.2f | %.2fx | %+.0f %% |\n", s, quiet, busy, busy / quiet, 100 * (quiet / base - 1)
    }
  }' <<< "$csv")
echo "$summary"
{
  echo "# OpenMP wait behaviour under contention"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD); CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- busy competitor: one Python process spinning on the same cores; 2 Ember threads; $rounds interleaved round(s)"
  echo
  echo "$summary"
  echo
  echo '```'
  echo "$csv"
  echo '```'
} > "$out/README.md"
