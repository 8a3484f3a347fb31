#!/usr/bin/env bash
# --seeds K: K runs per (attention kind, N), run k with seed --seed + k for its weights and its data,
# in the order N, kind, seed. Checked on a tiny --seeds 2 run: run.json keeps "seeds", metrics.csv
# and eval.csv hold every run with its seed (last column of metrics.csv), the two seeds' runs differ,
# checkpoints and weights carry a seed suffix, report.md gives mean ± interval and "diverged: 0 of 2"
# per kind (check_report.py recomputes them). A run killed and then stopped in the middle of a seed's
# training resumes to the metrics, accuracies and weights of an uninterrupted run. A folder written
# before --seeds (8-column metrics.csv, no "seeds" in run.json) still resumes, as one seed.
source "$(dirname "$0")/common.sh" "$1"
HERE="$(dirname "$0")"
ARGS=(--seeds 2 --seed 7 --layers 1 --d-model 16 --d-ff 32 --heads 2 --batch 4 --seq-len 6 --steps 20 --no-sweep
      --eval-sequences 8 --log-every 10 --checkpoint-every 5 --dropout 0.1 --threads 1)
run_copy_task "${ARGS[@]}" --out "$WORK/straight"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "uninterrupted --seeds 2 run: exit $STATUS"; }
cp "$WORK/out" "$WORK/straight.log"
dir="$WORK/straight"
grep -qF '"seeds": 2' "$dir/run.json" || fail "run.json lacks \"seeds\": 2"
grep -qF '| seeds | 2 (seed 7 to 8) |' "$dir/report.md" || fail "report.md's configuration does not name the seeds"

# metrics.csv: per kind, seed 7's rows (steps 10, 20), then seed 8's.
expected="$(for kind in softmax linear; do
  for seed in 7 8; do printf '%s\n' "$kind,10,$seed" "$kind,20,$seed"; done
done)"
[ "$(tail -n +2 "$dir/metrics.csv" | awk -F, '{ print $2 "," $1 "," $9 }')" = "$expected" ] \
  || { cat "$dir/metrics.csv"; fail "metrics.csv does not hold steps 10 and 20 of seeds 7 and 8 per kind"; }
[ "$(head -1 "$dir/metrics.csv" | cut -d, -f9)" = seed ] || fail "metrics.csv's header has no seed column"
# The seeds' runs are not copies of each other: different weights and data give different losses.
for kind in softmax linear; do
  losses="$(awk -F, -v k="$kind" '$2 == k && $1 == 10 { print $4 }' "$dir/metrics.csv" | sort -u | wc -l)"
  [ "$losses" -eq 2 ] || fail "$kind: seeds 7 and 8 have the same loss at step 10"
done
runs="$(printf '%s\n' softmax,6,7 softmax,6,8 linear,6,7 linear,6,8)"
[ "$(tail -n +2 "$dir/eval.csv" | cut -d, -f1,2,6)" = "$runs" ] \
  || { cat "$dir/eval.csv"; fail "eval.csv does not hold one row per run with its seed"; }
for kind in softmax linear; do
  for seed in 7 8; do
    for file in checkpoint model; do
      [ -s "$dir/${file}_${kind}_6_seed${seed}.safetensors" ] || fail "no ${file}_${kind}_6_seed${seed}.safetensors"
    done
  done
  [ ! -e "$dir/model_${kind}_6.safetensors" ] || fail "a weights file without a seed suffix"
  grep -Eq "^- $kind N=6: final training loss [0-9.]+ ± [0-9.]+; .*; diverged: 0 of 2\.$" "$dir/report.md" \
    || { cat "$dir/report.md"; fail "report.md has no '$kind N=6: ... ± ...; diverged: 0 of 2' line"; }
done
python3 "$HERE/check_report.py" "$dir" "$WORK/straight.log" || fail "report.md disagrees with the CSV files"

# Killed right after softmax seed 7's step 15 (last checkpoint: step 10); the resume finishes that
# run and is stopped by SIGINT at step 5 of seed 8 (seed 7 resumes past 5); a second resume ends.
run_copy_task "${ARGS[@]}" --test-signal-at 15:KILL --out "$WORK/resumed"
[ "$STATUS" -eq 137 ] || { cat "$WORK/err"; fail "killed: exit $STATUS, expected 137"; }
run_copy_task --resume "$WORK/resumed" --test-signal-at 5:INT
[ "$STATUS" -eq 130 ] || { cat "$WORK/err"; fail "SIGINT at seed 8's step 5: exit $STATUS, expected 130"; }
grep -qx "softmax N=6 seed 7: resumed at step 10" "$WORK/out" \
  || { cat "$WORK/out"; fail "seed 7 did not resume at 10"; }
grep -q "interrupted at step 5 of softmax N=6 seed 8 (checkpoint written)" "$WORK/out" \
  || { cat "$WORK/out"; fail "no word of the stop in seed 8"; }
run_copy_task --resume "$WORK/resumed"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "second resume: exit $STATUS"; }
grep -qx "softmax N=6 seed 8: resumed at step 5" "$WORK/out" || { cat "$WORK/out"; fail "seed 8 did not resume at 5"; }
# deterministic columns of metrics.csv: step, attention, seq_len, loss, token_acc, lr and seed
columns() { cut -d, -f1-6,9 "$1"; }
diff <(columns "$dir/metrics.csv") <(columns "$WORK/resumed/metrics.csv") || fail "resumed: metrics differ"
diff "$dir/eval.csv" "$WORK/resumed/eval.csv" || fail "resumed: held-out accuracy differs"
for kind in softmax linear; do
  for seed in 7 8; do
    cmp "$dir/model_${kind}_6_seed${seed}.safetensors" "$WORK/resumed/model_${kind}_6_seed${seed}.safetensors" \
      || fail "resumed: final $kind seed $seed weights differ"
  done
done
grep -F "diverged: 0 of 2" "$WORK/resumed/report.md" | diff - <(grep -F "diverged: 0 of 2" "$dir/report.md") \
  || fail "resumed: report.md's lines across seeds differ"

# A folder from before --seeds: killed after step 12 (checkpoint at 10), then made old (metrics.csv
# without the seed column, run.json without "seeds"). It resumes as one seed, to the straight run.
ONE=(--seed 3 --attention softmax --layers 1 --d-model 16 --d-ff 32 --heads 2 --batch 4 --seq-len 6 --steps 20
     --no-sweep --eval-sequences 8 --log-every 2 --checkpoint-every 5 --threads 1)
run_copy_task "${ONE[@]}" --out "$WORK/one"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "one-seed run: exit $STATUS"; }
[ -s "$WORK/one/model_softmax_6.safetensors" ] || fail "one seed: the weights file is not model_softmax_6"
run_copy_task "${ONE[@]}" --test-signal-at 12:KILL --out "$WORK/old"
[ "$STATUS" -eq 137 ] || { cat "$WORK/err"; fail "old: exit $STATUS, expected 137"; }
cut -d, -f1-8 "$WORK/old/metrics.csv" > "$WORK/metrics8" && mv "$WORK/metrics8" "$WORK/old/metrics.csv"
grep -v '"seeds"' "$WORK/old/run.json" > "$WORK/run.json" && mv "$WORK/run.json" "$WORK/old/run.json"
run_copy_task --resume "$WORK/old" --seeds 2
[ "$STATUS" -eq 2 ] || { cat "$WORK/err"; fail "--seeds 2 on a one-seed folder: exit $STATUS, expected 2"; }
grep -qF -- "--seeds is 1 in this run" "$WORK/err" || { cat "$WORK/err"; fail "--seeds 2 on resume: message"; }
run_copy_task --resume "$WORK/old" --seeds 1
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "resume of a folder from before --seeds: exit $STATUS"; }
grep -qx "softmax N=6: resumed at step 10" "$WORK/out" || { cat "$WORK/out"; fail "old: did not resume at 10"; }
diff <(columns "$WORK/one/metrics.csv") <(columns "$WORK/old/metrics.csv") || fail "old: metrics differ"
cmp "$WORK/one/model_softmax_6.safetensors" "$WORK/old/model_softmax_6.safetensors" || fail "old: weights differ"
grep -q "one seed, no interval" "$WORK/old/report.md" || fail "one seed: report.md does not say there is no interval"
echo "--seeds 2: every run with its seed, mean ± interval in report.md, resumed runs identical; old folders resume"
