#!/usr/bin/env bash
# Case 3 (and the hang of case 4): SIGINT or SIGTERM stops a run within about a second in training,
# in evaluation and in the timing sweep, with exit 130 and the exact resume command; a second
# Ctrl-C exits at once. (resume_identity.sh resumes an interrupted run.)
source "$(dirname "$0")/common.sh" "$1"
stop_within() {  # stop_within SECONDS PID: waits for PID, fails if it outlives SECONDS
  local limit="$1" pid="$2"
  for _ in $(seq 1 $((limit * 20))); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2> /dev/null; then kill -9 "$pid"; fail "the run ignored the signal for ${limit} s"; fi
  set +e; wait "$pid"; STATUS=$?; set -e
}
# During evaluation: a huge held-out set.
"$BIN" "${TINY[@]}" --eval-sequences 10000000 --no-sweep --out "$WORK/eval" > "$WORK/eval.log" 2>&1 &
pid=$!
wait_for_file "$WORK/eval/model_softmax_4.safetensors"
sleep 0.5
kill -INT "$pid"
stop_within 3 "$pid"
[ "$STATUS" -eq 130 ] || fail "SIGINT during evaluation: exit $STATUS, expected 130"
grep -q "interrupted while evaluating" "$WORK/eval.log" || fail "no word of where it stopped"
grep -qF "copy_task --resume '$WORK/eval'" "$WORK/eval.log" || fail "no resume command"
# During the timing sweep, with a budget of days and the largest sweep allowed.
"$BIN" "${TINY[@]}" --sweep-max 16777216 --sweep-budget 600000 --out "$WORK/sweep" > "$WORK/sweep.log" 2>&1 &
pid=$!
wait_for_file "$WORK/sweep/timing.csv"
sleep 1
kill -TERM "$pid"
stop_within 3 "$pid"
[ "$STATUS" -eq 130 ] || fail "SIGTERM during the sweep: exit $STATUS, expected 130"
grep -q "interrupted during the timing sweep" "$WORK/sweep.log" || fail "no word of where it stopped"
# A second Ctrl-C ends the run at once, even while it would still be finishing its step.
"$BIN" "${TINY[@]}" --sweep-max 16777216 --sweep-budget 600000 --out "$WORK/twice" > /dev/null 2>&1 &
pid=$!
wait_for_file "$WORK/twice/timing.csv"
kill -INT "$pid"; sleep 0.01; kill -INT "$pid" 2> /dev/null || true
stop_within 2 "$pid"
[ "$STATUS" -eq 130 ] || fail "two Ctrl-C: exit $STATUS, expected 130"
echo "signals stop training, evaluation and the sweep with exit 130"
