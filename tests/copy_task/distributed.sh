#!/usr/bin/env bash
# The copy task under mpirun (issue #17): at 2 ranks its loss curve matches 1 process's to 1e-4
# over the first 50 steps and it reaches the same held-out accuracy; rank 0 alone writes the
# folder; the checkpoint holds every rank's generator state and a resume with another number of
# processes is refused by name; killing a rank ends the job within 30 s.
#   distributed.sh COPY_TASK MPIRUN [MPIRUN ARGS...]
set -uo pipefail
copy_task="$1"
shift
mpirun=("$@")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
args=(--steps 50 --log-every 1 --no-sweep --eval-sequences 16 --threads 1 --attention softmax)

OMP_NUM_THREADS=1 "$copy_task" "${args[@]}" --out "$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "1 process"; }
"${mpirun[@]}" -np 2 "$copy_task" "${args[@]}" --out "$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; fail "2 ranks"; }
[ "$(grep -c '^copy task:' "$work/two.log")" = 1 ] || fail "more than one rank printed the header"

# loss (column 4) step by step, and the held-out token accuracy of eval.csv
paste -d, <(tail -n +2 "$work/one/metrics.csv" | cut -d, -f1,4) <(tail -n +2 "$work/two/metrics.csv" | cut -d, -f4) |
  awk -F, '{d = $2 - $3; if (d < 0) d = -d; if (d > worst) worst = d; n++}
           END {printf "loss curves: %d steps, largest difference %.2g\n", n, worst; exit !(n == 50 && worst <= 1e-4)}' ||
  fail "the loss curves at 1 and 2 processes differ by more than 1e-4 (or not 50 steps)"
acc_one="$(tail -n 1 "$work/one/eval.csv")"
acc_two="$(tail -n 1 "$work/two/eval.csv")"
echo "eval.csv, 1 process: $acc_one"
echo "eval.csv, 2 ranks:   $acc_two"
[ "$(cut -d, -f1-6 <<< "$acc_one")" = "$(cut -d, -f1-6 <<< "$acc_two")" ] || fail "held-out results differ"

grep -q "rng.rank_states" "$work/two/checkpoint_softmax_24.safetensors" || fail "no per-rank generator states in the checkpoint"
OMP_NUM_THREADS=1 "$copy_task" --resume "$work/two" > "$work/resume.log" 2>&1
status=$?
cat "$work/resume.log"
[ "$status" -ne 0 ] && grep -q "written by a run on 2 processes, this run has 1" "$work/resume.log" ||
  fail "resuming a 2-rank run on 1 process was not refused with a clear message"

# A long run; kill one rank once training is under way.
"${mpirun[@]}" -np 2 "$copy_task" --steps 100000 --log-every 1 --no-sweep --threads 1 --attention softmax \
  --out "$work/killed" > "$work/killed.log" 2>&1 &
job=$!
for _ in $(seq 300); do
  [ -f "$work/killed/metrics.csv" ] && [ "$(wc -l < "$work/killed/metrics.csv")" -gt 3 ] && break
  sleep 0.1
done
victim="$(pgrep -P "$job" -f copy_task | tail -n 1)"
[ -n "$victim" ] || { kill -9 "$job"; cat "$work/killed.log"; fail "no rank to kill"; }
start=$SECONDS
kill -9 "$victim"
for _ in $(seq 300); do
  kill -0 "$job" 2> /dev/null || break
  sleep 0.1
done
kill -0 "$job" 2> /dev/null && { kill -9 "$job"; cat "$work/killed.log"; fail "the job still runs 30 s after a rank was killed"; }
wait "$job"
status=$?
tail -n 8 "$work/killed.log"
echo "the job ended $((SECONDS - start)) s after a rank was killed, status $status"
[ "$status" -ne 0 ] && grep -qE "exited on signal 9|aborting the job" "$work/killed.log" || fail "no clear message"
echo ok
