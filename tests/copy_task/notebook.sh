#!/usr/bin/env bash
# --variant notebook (the seed study's notebook, apps/copy_task/notebook_model.h): a tiny seed run
# end to end whose run.json, report.md and eval.csv say what ran, which resumes; --print-config
# describes the notebook's layout and loss; the paper protocol and an N without room for a symbol
# are refused with exit 2 and no folder; a run.json from before --variant resumes as the text variant.
source "$(dirname "$0")/common.sh" "$1"
HERE="$(dirname "$0")"
# 3 layers per stack, of which the encoder runs 2; d_model 16 = 2 heads x 2 sub-heads x 4.
run_copy_task --protocol seed --variant notebook "${TINY[@]}" --layers 3 --seq-lens 4,6 --no-sweep --out "$WORK/nb"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "notebook run: exit $STATUS"; }
cp "$WORK/out" "$WORK/nb.log"
[ -s "$WORK/nb/report.md" ] || fail "notebook run: no report.md"
grep -qF '"variant": "notebook"' "$WORK/nb/run.json" || fail "run.json does not name the notebook variant"
grep -qF '| variant | notebook (LinTrans.jl' "$WORK/nb/report.md" || fail "report.md does not name the variant"
runs="$(tail -n +2 "$WORK/nb/eval.csv" | cut -d, -f1-3 | tr '\n' ' ')"
[ "$runs" = "softmax,4,4 linear,4,4 softmax,6,4 linear,6,4 " ] || fail "eval.csv holds runs $runs"
python3 "$HERE/check_report.py" "$WORK/nb" "$WORK/nb.log" > /dev/null || fail "report.md disagrees with the CSV files"
run_copy_task --resume "$WORK/nb"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "resuming the notebook run: exit $STATUS"; }

run_copy_task --protocol seed --variant notebook --print-config
[ "$STATUS" -eq 0 ] || fail "--print-config: exit $STATUS"
grep -qF "[11, s1..s(N-2), 12]" "$WORK/out" || { cat "$WORK/out"; fail "--print-config lacks the notebook's layout"; }
grep -qF "summed over the batch" "$WORK/out" || fail "--print-config lacks the notebook's loss"

run_copy_task --protocol paper --variant notebook "${TINY[@]}" --out "$WORK/paper"
[ "$STATUS" -eq 2 ] || { cat "$WORK/err"; fail "--protocol paper --variant notebook: exit $STATUS, expected 2"; }
grep -qF -- "--variant notebook is for --protocol seed" "$WORK/err" || { cat "$WORK/err"; fail "message"; }
[ ! -e "$WORK/paper" ] || fail "the refused run left a folder"
run_copy_task --protocol seed --variant notebook "${TINY[@]}" --seq-lens 2 --out "$WORK/short"
[ "$STATUS" -eq 2 ] || fail "--variant notebook --seq-lens 2: exit $STATUS, expected 2"
grep -qF "at least 3" "$WORK/err" || { cat "$WORK/err"; fail "--seq-lens 2: message"; }

# A text-variant run whose run.json predates "variant" resumes as the text variant.
run_copy_task --protocol seed "${TINY[@]}" --no-sweep --out "$WORK/text"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "text run: exit $STATUS"; }
python3 -c 'import json, sys; p = sys.argv[1]; j = json.load(open(p)); del j["variant"]; json.dump(j, open(p, "w"))' \
  "$WORK/text/run.json"
run_copy_task --resume "$WORK/text"
[ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "resuming a run.json without variant: exit $STATUS"; }
echo "the notebook variant runs, reports and resumes; its misuses are refused"
