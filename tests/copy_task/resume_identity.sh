#!/usr/bin/env bash
# Case 2: --resume DIR alone continues that run with its stored configuration; a flag that would
# change its results is refused naming both values; --threads is allowed with a note; checkpoint
# fields are range-checked.
source "$(dirname "$0")/common.sh" "$1"
ARGS=(--steps 300 --checkpoint-every 10 --layers 1 --d-model 16 --d-ff 16 --heads 2 --batch 4 --seq-len 4
      --eval-sequences 4 --no-sweep --threads 1 --attention softmax --dropout 0.1 --lr-drop-step 0)
run_copy_task "${ARGS[@]}" --out "$WORK/straight"
[ "$STATUS" -eq 0 ] || fail "the uninterrupted run failed"
# A run interrupted right after step 35 (SIGINT, sent by the run itself), resumed with --resume alone.
run_copy_task "${ARGS[@]}" --test-signal-at 35:INT --out "$WORK/run"
[ "$STATUS" -eq 130 ] || { cat "$WORK/err"; fail "SIGINT at step 35: exit $STATUS, expected 130"; }
run_copy_task --resume "$WORK/run"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "--resume DIR alone: exit $STATUS"; }
grep -qx "softmax N=4: resumed at step 35" "$WORK/out" || fail "--resume DIR alone did not continue from step 35"
[ "$(tail -1 "$WORK/run/metrics.csv" | cut -d, -f1)" = 300 ] || fail "the resumed run did not stop at its own 300 steps"
cmp "$WORK/straight/model_softmax_4.safetensors" "$WORK/run/model_softmax_4.safetensors" \
  || fail "the resumed run's weights differ from the uninterrupted run's"
# Flags that change results are refused, naming the setting and both values.
for change in "--dropout 0.2:0.1" "--lr-drop-step 5:0" "--lr-drop-factor 0.5:0.1" '--precision bf16:"fp32"' \
              "--seq-lens 5:[4]" "--steps 50:300" "--seeds 2:1"; do
  flag="${change%%:*}"; stored="${change##*:}"
  run_copy_task --resume "$WORK/run" $flag
  [ "$STATUS" -eq 2 ] || fail "--resume with $flag: exit $STATUS, expected 2"
  grep -qF -- "${flag%% *} is ${stored} in this run" "$WORK/err" || { cat "$WORK/err"; fail "$flag: message"; }
done
run_copy_task --resume "$WORK/run" --threads 2
[ "$STATUS" -eq 0 ] || fail "--threads on resume should be allowed"
grep -q "bit-identical" "$WORK/out" || fail "--threads on resume: no note about bit-identity"
# Checkpoints whose step is out of range are refused (exit 2), never trained from.
ckpt="$WORK/run/checkpoint_softmax_4.safetensors"
cp "$ckpt" "$WORK/good.safetensors"
for step in 9223372036854775807 1000000000000 -1000; do
  python3 "$(dirname "$0")/set_checkpoint_step.py" "$WORK/good.safetensors" "$ckpt" "$step"
  run_copy_task --resume "$WORK/run"
  [ "$STATUS" -eq 2 ] || { cat "$WORK/err"; fail "checkpoint step $step: exit $STATUS, expected 2"; }
  grep -q "step $step is outside" "$WORK/err" || { cat "$WORK/err"; fail "checkpoint step $step: message"; }
done
echo "resume follows run.json; changed settings and out-of-range checkpoints are refused"
