#!/usr/bin/env bash
# A run killed after a checkpoint (SIGKILL) or interrupted (SIGINT) and then resumed ends with the
# same metrics (all but the timing columns) and bit-identical final weights as an uninterrupted run.
source "$(dirname "$0")/common.sh" "$1"
ARGS=(--steps 300 --checkpoint-every 25 --log-every 10 --dropout 0.1 --layers 2 --d-model 32 --d-ff 64
      --seq-len 6 --eval-sequences 32 --no-sweep --threads 2 --seed 7)
"$BIN" "${ARGS[@]}" --out "$WORK/straight" > /dev/null || fail "uninterrupted run failed"

# deterministic columns of metrics.csv: step, attention, seq_len, loss, token_acc, lr
columns() { cut -d, -f1-6 "$1"; }

# SIGKILL once the first checkpoint exists, then resume.
"$BIN" "${ARGS[@]}" --out "$WORK/killed" > /dev/null &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$WORK/killed/checkpoint_softmax_6.safetensors" ] && break
  sleep 0.05
done
kill -9 "$pid" 2> /dev/null || fail "the run ended before it could be killed"
wait "$pid" 2> /dev/null || true
"$BIN" --resume "$WORK/killed" "${ARGS[@]}" > "$WORK/resume.log" || { cat "$WORK/resume.log"; fail "resume after SIGKILL failed"; }
grep -q "resumed at step" "$WORK/resume.log" || fail "the resumed run did not start from a checkpoint"

# SIGINT: the run checkpoints and exits 130; resume finishes it.
"$BIN" "${ARGS[@]}" --out "$WORK/interrupted" > /dev/null &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$WORK/interrupted/checkpoint_softmax_6.safetensors" ] && break
  sleep 0.05
done
kill -INT "$pid"
set +e
wait "$pid"
status=$?
set -e
[ "$status" -eq 130 ] || fail "SIGINT should exit 130, got $status"
"$BIN" --resume "$WORK/interrupted" "${ARGS[@]}" > /dev/null || fail "resume after SIGINT failed"

for run in killed interrupted; do
  diff <(columns "$WORK/straight/metrics.csv") <(columns "$WORK/$run/metrics.csv") || fail "$run: metrics differ"
  for kind in softmax linear; do
    cmp "$WORK/straight/model_${kind}_6.safetensors" "$WORK/$run/model_${kind}_6.safetensors" \
      || fail "$run: final $kind weights differ"
  done
done
echo "killed and interrupted runs resumed to identical metrics and weights"
