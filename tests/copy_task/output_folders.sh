#!/usr/bin/env bash
# Case 6: a run folder is written by one run only. A second run into a non-empty --out is refused
# (with the resume command to use instead) and changes nothing; a run that holds the folder's lock
# keeps a resume of the same folder out.
source "$(dirname "$0")/common.sh" "$1"
run_copy_task "${TINY[@]}" --no-sweep --out "$WORK/run"
[ "$STATUS" -eq 0 ] || fail "first run failed"
before="$(md5sum "$WORK/run/metrics.csv" "$WORK/run/model_softmax_4.safetensors")"
run_copy_task "${TINY[@]}" --no-sweep --out "$WORK/run"
[ "$STATUS" -eq 2 ] || fail "a second run into the same --out: exit $STATUS, expected 2"
grep -qF "copy_task --resume '$WORK/run'" "$WORK/err" || { cat "$WORK/err"; fail "no resume hint"; }
[ "$before" = "$(md5sum "$WORK/run/metrics.csv" "$WORK/run/model_softmax_4.safetensors")" ] \
  || fail "the refused run changed the folder"
# While one run holds the folder, a resume of it is refused.
"$BIN" "${TINY[@]}" --steps 100000 --no-sweep --out "$WORK/busy" > /dev/null 2>&1 &
pid=$!
wait_for_file "$WORK/busy/metrics.csv"
run_copy_task --resume "$WORK/busy"
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
[ "$STATUS" -eq 2 ] || { cat "$WORK/err"; fail "a resume of a folder in use: exit $STATUS, expected 2"; }
grep -q "another copy_task run is writing" "$WORK/err" || { cat "$WORK/err"; fail "no word of the other run"; }
[ -f "$WORK/busy/run.json" ] || fail "the refused resume removed the other run's files"
# The lock dies with its holder: a killed run leaves the folder free to resume.
flock -n "$WORK/busy/.lock" true || fail "the lock outlived the killed run"
echo "one run per folder; refused runs change nothing"
