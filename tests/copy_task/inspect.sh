#!/usr/bin/env bash
# --inspect on tiny runs: both kinds give a heat map per kind and layer, attention_metrics.csv a
# row per (kind, layer, head) with sane values and the linear-vs-softmax distance, and report.md its
# section; one kind alone leaves the distance empty; a resume may add --inspect; the seed protocol
# is refused with 2 and no folder. (The metrics' values are checked in tests/test_attention_inspection.cpp.)
source "$(dirname "$0")/common.sh" "$1"
run_copy_task "${TINY[@]}" --layers 2 --no-sweep --inspect --out "$WORK/both"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "--inspect run: exit $STATUS"; }
csv="$WORK/both/attention_metrics.csv"
[ "$(head -n 1 "$csv")" = "kind,layer,head,entropy,effective_rank,copy_diagonal_mass,lin_soft_distance" ] ||
  fail "attention_metrics.csv header: $(head -n 1 "$csv")"
# 2 kinds x 2 layers x 2 heads; at L = 4 the effective rank lies in [1, 4], the entropy in
# [0, log 4], mass and distance in [0, 1] and [0, sqrt 2].
awk -F, 'NR > 1 {
    rows++
    if (NF != 7 || $7 == "" || $4 < 0 || $4 > log(4) + 1e-9 || $5 < 1 - 1e-9 || $5 > 4 + 1e-9 || $6 < 0 || $6 > 1 ||
        $7 < 0 || $7 > sqrt(2)) { print "bad row: " $0; bad = 1 }
    seen[$1 "," $2 "," $3] = 1
  }
  END {
    for (k in seen) n++
    if (rows != 8 || n != 8) { print rows " rows, " n " distinct (kind, layer, head)"; bad = 1 }
    exit bad
  }' "$csv" || fail "attention_metrics.csv (above)"
if command -v gnuplot > /dev/null; then
  for kind in softmax linear; do
    for layer in 0 1; do
      png="$WORK/both/attention_${kind}_layer${layer}.png"
      [ "$(head -c 4 "$png" | tail -c 3)" = PNG ] || fail "$png is not a PNG"
    done
  done
fi
ls "$WORK/both" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$WORK/both")"
grep -q "^## Attention introspection" "$WORK/both/report.md" || fail "report.md has no introspection section"
grep -q "linear attention's heads have .* entropy than softmax's" "$WORK/both/report.md" ||
  fail "report.md does not compare the two kinds"

run_copy_task "${TINY[@]}" --attention linear --no-sweep --inspect --out "$WORK/linear"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "--attention linear --inspect: exit $STATUS"; }
awk -F, 'NR > 1 && ($1 != "linear" || $7 != "") { bad = 1 } END { exit bad || NR != 3 }' \
  "$WORK/linear/attention_metrics.csv" || fail "one kind: $(cat "$WORK/linear/attention_metrics.csv")"

# A finished run without --inspect, resumed with it: the inspection comes from its saved weights.
run_copy_task "${TINY[@]}" --attention softmax --no-sweep --out "$WORK/later"
[ "$STATUS" -eq 0 ] && [ ! -e "$WORK/later/attention_metrics.csv" ] || fail "run without --inspect: exit $STATUS"
run_copy_task --resume "$WORK/later" --inspect
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "--resume --inspect: exit $STATUS"; }
[ "$(wc -l < "$WORK/later/attention_metrics.csv")" -eq 3 ] || fail "--resume --inspect: no attention_metrics.csv rows"

run_copy_task "${TINY[@]}" --protocol seed --no-sweep --inspect --out "$WORK/seed"
[ "$STATUS" -eq 2 ] || fail "--protocol seed --inspect: exit $STATUS, expected 2"
grep -q "inspect" "$WORK/err" || fail "the refusal does not name --inspect: $(cat "$WORK/err")"
[ ! -e "$WORK/seed" ] || fail "a refused run left $WORK/seed behind"
echo "--inspect wrote heat maps, attention_metrics.csv and report.md's section"
