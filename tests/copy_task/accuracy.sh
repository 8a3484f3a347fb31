#!/usr/bin/env bash
# Both attention kinds learn the copy: >= 99% held-out token accuracy by greedy generation, on a
# reduced version of the default run (shorter sequences and training, to keep CI short).
source "$(dirname "$0")/common.sh" "$1"
"$BIN" --seq-len 5 --steps 2500 --lr-drop-step 2000 --layers 3 --d-model 64 --d-ff 128 --no-sweep \
  --seed 0 --out "$WORK/run" > "$WORK/log" || { cat "$WORK/log"; fail "run failed"; }
for kind in softmax linear; do
  acc=$(awk -F, -v k="$kind" '$1 == k {print $4}' "$WORK/run/eval.csv")
  [ -n "$acc" ] || fail "no eval.csv row for $kind"
  awk -v a="$acc" 'BEGIN {exit !(a >= 0.99)}' || fail "$kind held-out token accuracy $acc < 0.99"
  echo "$kind held-out token accuracy $acc"
done
