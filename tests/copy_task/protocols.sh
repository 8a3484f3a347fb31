#!/usr/bin/env bash
# Both protocols run end to end (short) and leave every output file behind.
source "$(dirname "$0")/common.sh" "$1"
"$BIN" --protocol seed --seq-lens 8,16,32,64 --steps 20 --eval-sequences 16 --sweep-max 64 --sweep-budget 20 \
  --out "$WORK/seed" > "$WORK/seed.log" || { cat "$WORK/seed.log"; fail "seed protocol run failed"; }
"$BIN" --protocol paper --steps 20 --eval-sequences 32 --sweep-max 128 --sweep-budget 20 \
  --out "$WORK/paper" > "$WORK/paper.log" || { cat "$WORK/paper.log"; fail "paper protocol run failed"; }
for run in seed paper; do
  for f in metrics.csv eval.csv timing.csv report.md loss.png time_vs_n.png; do
    [ -s "$WORK/$run/$f" ] || fail "$run: $f missing or empty"
  done
done
# The seed run trains one model per (kind, N): 2 x 4 rows in eval.csv.
[ "$(tail -n +2 "$WORK/seed/eval.csv" | wc -l)" -eq 8 ] || fail "seed eval.csv should have 8 rows"
grep -q "| 64 |" "$WORK/seed/report.md" || fail "seed report lacks the N=64 row"
grep -q "Crossover" "$WORK/paper/report.md" || fail "paper report lacks the crossover"
echo "both protocols produced all outputs"
