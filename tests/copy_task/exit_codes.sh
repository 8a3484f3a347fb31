#!/usr/bin/env bash
# Case 7: exit codes follow the policy (0 success, 1 environment, 2 bad input, 130 interrupted);
# write failures name the file and the OS reason; a full disk leaves no half row and no empty PNG;
# a run that fails at start-up leaves no folder; report.md gives no verdict without evidence;
# --resume with a bare checkpoint file name creates no stray folder.
source "$(dirname "$0")/common.sh" "$1"
# Too few steps for a verdict.
run_copy_task "${TINY[@]}" --no-sweep --out "$WORK/short"
[ "$STATUS" -eq 0 ] || fail "a short run: exit $STATUS"
# 6 steps and no sweep: every claim's verdict is "not enough evidence".
grep -q "^| 1\. .* | not enough evidence | runs too weak" "$WORK/short/report.md" \
  || fail "report.md judges claim 1 after 6 steps"
! grep -Eq "^\| [0-9]\. .* \| (not )?supported \|" "$WORK/short/report.md" || fail "report.md gives a verdict without evidence"
# Start-up failures leave nothing.
run_copy_task "${TINY[@]}" --d-model 15 --heads 2 --out "$WORK/startup"
[ "$STATUS" -eq 2 ] && [ ! -e "$WORK/startup" ] || fail "a failed start-up: exit $STATUS or a folder was left"
# --resume with a checkpoint file named relative to the run folder: no stray results folder.
( cd "$WORK/short" && run_copy_task --resume checkpoint_softmax_4.safetensors --threads 1 && [ "$STATUS" -eq 0 ] ) \
  || { cat "$WORK/err"; fail "--resume with a bare checkpoint file name failed"; }
[ ! -e "$WORK/short/results" ] || fail "a stray results folder was created"
# A full disk (a 96 KiB tmpfs) while writing checkpoints: exit 1, the file and the reason named,
# metrics.csv holds only whole rows, no 0-byte picture.
if mkdir -p "$WORK/small" && mount -t tmpfs -o size=96k tmpfs "$WORK/small" 2> /dev/null; then
  trap 'umount "$WORK/small" 2> /dev/null || true; rm -rf "$WORK"' EXIT
  run_copy_task "${TINY[@]}" --d-model 32 --d-ff 64 --checkpoint-every 1 --sweep-max 16 --sweep-budget 5 \
    --out "$WORK/small/run"
  [ "$STATUS" -eq 1 ] || { cat "$WORK/err"; fail "disk full: exit $STATUS, expected 1"; }
  grep -q "No space left on device" "$WORK/err" || { cat "$WORK/err"; fail "disk full: no OS reason"; }
  grep -q "$WORK/small/run/" "$WORK/err" || { cat "$WORK/err"; fail "disk full: the file is not named"; }
  if [ -f "$WORK/small/run/metrics.csv" ]; then
    awk -F, 'NF != 9 { exit 1 }' "$WORK/small/run/metrics.csv" || fail "metrics.csv holds a partial row"
  fi
  for picture in "$WORK"/small/run/*.png; do
    [ ! -e "$picture" ] || [ -s "$picture" ] || fail "an empty $picture was left"
  done
  umount "$WORK/small"
else
  echo "note: cannot mount a small tmpfs here (not root?); the disk-full part was not run"
fi
echo "exit codes and partial files follow the policy"
