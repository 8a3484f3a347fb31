#!/usr/bin/env bash
# Both protocols run end to end (short, 2 threads) and what they write holds up: run.json keeps
# each protocol's settings by name, metrics.csv has every step of every run with a first loss near
# ln(11) (a fresh model guessing among 11 symbols) and a lower last one, eval.csv one row per
# (kind, N) over every held-out sequence with accuracies in [0, 1], timing.csv every N of the sweep
# (a time, or the reason it was skipped), and report.md's tables, crossovers, scaling exponents
# and claim-1 verdict agree with those files (check_report.py recomputes them).
source "$(dirname "$0")/common.sh" "$1"
HERE="$(dirname "$0")"
STEPS=20
run_protocol() {  # run_protocol NAME ARGS...: a run into $WORK/NAME, its output in $WORK/NAME.log
  local name="$1"; shift
  run_copy_task --protocol "$name" --steps "$STEPS" --threads 2 --out "$WORK/$name" "$@"
  [ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "$name protocol: exit $STATUS"; }
  cp "$WORK/out" "$WORK/$name.log"
}
run_protocol seed --seq-lens 8,16,32,64 --eval-sequences 16 --sweep-max 64 --sweep-budget 10
run_protocol paper --eval-sequences 32 --sweep-max 128 --sweep-budget 10

# check_run NAME OPTIMIZER SEQUENCES SWEEP_MAX RUN_KEYS...: RUN_KEYS are "kind,N" in training order.
check_run() {
  local name="$1" optimizer="$2" sequences="$3" sweep_max="$4"; shift 4
  local dir="$WORK/$name" expected_runs
  expected_runs="$(printf '%s\n' "$@")"
  for f in metrics.csv eval.csv timing.csv report.md loss.png time_vs_n.png; do
    [ -s "$dir/$f" ] || fail "$name: $f missing or empty"
  done
  for setting in "\"protocol\": \"$name\"" "\"optimizer\": \"$optimizer\"" '"scale": "small"' '"precision": "fp32"' \
                 '"device": "cpu"' '"threads": 2'; do
    grep -qF "$setting" "$dir/run.json" || fail "$name: run.json lacks $setting"
  done
  grep -qF "| optimizer | $optimizer |" "$dir/report.md" || fail "$name: report.md does not name $optimizer"
  # eval.csv: one row per run, in training order, over every held-out sequence.
  [ "$(tail -n +2 "$dir/eval.csv" | cut -d, -f1,2)" = "$expected_runs" ] || fail "$name: eval.csv runs are not: $*"
  awk -F, -v want="$sequences" 'NR > 1 && ($3 != want || $4 < 0 || $4 > 1 || $5 < 0 || $5 > 1) { exit 1 }' \
    "$dir/eval.csv" || fail "$name: eval.csv has a row off $sequences sequences or with an accuracy outside [0, 1]"
  # metrics.csv: steps 1..STEPS of each run (one row per step at this length), finite numbers, the
  # preset lr, a first loss within 0.7 of ln(11) and a last loss below the first.
  [ "$(tail -n +2 "$dir/metrics.csv" | cut -d, -f2,3 | uniq)" = "$expected_runs" ] \
    || fail "$name: metrics.csv runs are not: $*"
  awk -F, -v steps="$STEPS" '
    NR == 1 { next }
    { key = $2 "," $3; count[key]++ }
    $1 != count[key] { print "step " $1 " of " key " is row " count[key]; bad = 1 }
    $4 !~ /^[0-9]+\.[0-9]+$/ || $5 < 0 || $5 > 1 || $6 != 0.001 { print "bad numbers: " $0; bad = 1 }
    $1 == 1 { first[key] = $4 }
    $1 == 1 && ($4 < log(11) - 0.7 || $4 > log(11) + 0.7) { print key " starts at loss " $4; bad = 1 }
    $1 == steps && $4 >= first[key] { print key " did not lower its loss: " first[key] " -> " $4; bad = 1 }
    END { for (key in count) if (count[key] != steps) { print key " has " count[key] " rows"; bad = 1 }; exit bad }
  ' "$dir/metrics.csv" || fail "$name: metrics.csv (above)"
  # timing.csv: N = 8, 16, ... sweep_max for each scope and kind, each a time or a skip note.
  local n
  for ((n = 8; n <= sweep_max; n *= 2)); do
    for scope in attention model; do
      for kind in softmax linear; do
        awk -F, -v s="$scope" -v k="$kind" -v n="$n" '
          $1 == s && $2 == k && $3 == n && ($5 > 0 || $7 ~ /^skipped/) { found = 1 }
          END { exit !found }' "$dir/timing.csv" || fail "$name: timing.csv lacks $scope $kind N=$n"
      done
    done
  done
  python3 "$HERE/check_report.py" "$dir" "$WORK/$name.log" || fail "$name: report.md disagrees with the CSV files"
}
check_run seed adam 16 64 softmax,8 linear,8 softmax,16 linear,16 softmax,32 linear,32 softmax,64 linear,64
check_run paper radam 32 128 softmax,24 linear,24
echo "both protocols ran; their files hold every step, run and sweep point, and report.md agrees with them"
