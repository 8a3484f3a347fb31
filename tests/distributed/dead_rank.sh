#!/usr/bin/env bash
# A rank killed in the middle of a job ends the whole job within 30 s, with a message naming what
# died, instead of leaving the other rank waiting in its collective.
#   dead_rank.sh PROGRAM MPIRUN [MPIRUN ARGS...]   (PROGRAM all-reduces forever: --ember-collective-loop)
set -uo pipefail
program="$1"
shift
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$@" -np 2 "$program" --ember-collective-loop > "$log" 2>&1 &
job=$!
for _ in $(seq 100); do  # both ranks report their pid within 10 s
  [ "$(grep -c '^rank . pid' "$log")" = 2 ] && break
  sleep 0.1
done
victim="$(sed -n 's/^rank 1 pid \([0-9]*\)$/\1/p' "$log")"
[ -n "$victim" ] || { echo "FAIL: rank 1 never started"; cat "$log"; kill -9 "$job"; exit 1; }
start=$SECONDS
kill -9 "$victim"
for _ in $(seq 300); do
  kill -0 "$job" 2> /dev/null || break
  sleep 0.1
done
if kill -0 "$job" 2> /dev/null; then
  echo "FAIL: the job still runs 30 s after rank 1 was killed"
  kill -9 "$job"
  cat "$log"
  exit 1
fi
wait "$job"
status=$?
cat "$log"
echo "job ended $((SECONDS - start)) s after rank 1 was killed, exit status $status"
[ "$status" -ne 0 ] || { echo "FAIL: the job exited with status 0"; exit 1; }
grep -qiE "rank 1|signal 9|killed" "$log" || { echo "FAIL: no message names the dead rank"; exit 1; }
echo "ok"
