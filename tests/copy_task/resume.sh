#!/usr/bin/env bash
# A run killed (SIGKILL) or stopped (SIGINT, SIGTERM) at a chosen training step and then resumed
# ends with the same metrics (all but the timing columns), held-out accuracy and bit-identical
# final weights as an uninterrupted run. The run sends the signal to itself right after the step
# the test names (--test-signal-at STEP:SIGNAL), so every execution stops at the same place, and
# the test checks where: the last metrics row, the step the resume starts from, the exit status.
source "$(dirname "$0")/common.sh" "$1"
ARGS=(--steps 200 --checkpoint-every 25 --log-every 10 --dropout 0.1 --layers 2 --d-model 32 --d-ff 64
      --seq-len 6 --eval-sequences 32 --no-sweep --threads 2 --seed 7)
run_copy_task "${ARGS[@]}" --out "$WORK/straight"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "uninterrupted run: exit $STATUS"; }

# deterministic columns of metrics.csv: step, attention, seq_len, loss, token_acc, lr
columns() { cut -d, -f1-6 "$1"; }
last_step() { tail -n 1 "$1/metrics.csv" | cut -d, -f1; }
# expect_resume_from RUN KIND STEP: the resume just run continued KIND from STEP.
expect_resume_from() {
  grep -qx "$2 N=6: resumed at step $3" "$WORK/out" || { cat "$WORK/out"; fail "$1: $2 did not resume at step $3"; }
}

# SIGKILL right after step 40: the last checkpoint is step 25's, metrics.csv already holds the rows
# of steps 30 and 40, which the resume must drop and write again.
run_copy_task "${ARGS[@]}" --test-signal-at 40:KILL --out "$WORK/killed"
[ "$STATUS" -eq 137 ] || { cat "$WORK/err"; fail "killed: exit $STATUS, expected 137 (SIGKILL)"; }
[ "$(last_step "$WORK/killed")" = 40 ] || fail "killed: metrics.csv should end at step 40"
[ -f "$WORK/killed/checkpoint_softmax_6.safetensors" ] || fail "killed: no checkpoint before the kill"
[ ! -e "$WORK/killed/model_softmax_6.safetensors" ] || fail "killed: final weights exist after a kill at step 40"
run_copy_task --resume "$WORK/killed"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "resume after SIGKILL: exit $STATUS"; }
expect_resume_from killed softmax 25

# SIGINT right after step 60 (between checkpoints): a checkpoint of step 60 is written, exit 130.
# The resume is stopped by SIGTERM at the linear run's step 40 (softmax resumes past 40), and a
# second resume finishes: each run of the pair is resumed once from the middle of its training.
run_copy_task "${ARGS[@]}" --test-signal-at 60:INT --out "$WORK/stopped"
[ "$STATUS" -eq 130 ] || { cat "$WORK/err"; fail "SIGINT at step 60: exit $STATUS, expected 130"; }
grep -q "interrupted at step 60 of softmax N=6 (checkpoint written)" "$WORK/out" \
  || { cat "$WORK/out"; fail "SIGINT at step 60: no word of where it stopped"; }
run_copy_task --resume "$WORK/stopped" --test-signal-at 40:TERM
[ "$STATUS" -eq 130 ] || { cat "$WORK/err"; fail "SIGTERM at linear step 40: exit $STATUS, expected 130"; }
expect_resume_from stopped softmax 60
grep -q "interrupted at step 40 of linear N=6 (checkpoint written)" "$WORK/out" \
  || { cat "$WORK/out"; fail "SIGTERM at linear step 40: no word of where it stopped"; }
[ "$(last_step "$WORK/stopped")" = 40 ] || fail "stopped: metrics.csv should end at linear step 40"
run_copy_task --resume "$WORK/stopped"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "second resume: exit $STATUS"; }
expect_resume_from stopped softmax 200
expect_resume_from stopped linear 40

for run in killed stopped; do
  diff <(columns "$WORK/straight/metrics.csv") <(columns "$WORK/$run/metrics.csv") || fail "$run: metrics differ"
  diff "$WORK/straight/eval.csv" "$WORK/$run/eval.csv" || fail "$run: held-out accuracy differs"
  for kind in softmax linear; do
    cmp "$WORK/straight/model_${kind}_6.safetensors" "$WORK/$run/model_${kind}_6.safetensors" \
      || fail "$run: final $kind weights differ"
  done
done
echo "runs killed at step 40 and stopped at steps 60 and 40 (linear) resumed to identical metrics, accuracy and weights"
