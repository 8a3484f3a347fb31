#!/usr/bin/env bash
# Cases 4 and 5: every hostile flag value is refused at once with exit 2 and a message naming the
# flag and the accepted range in words; nothing is created.
source "$(dirname "$0")/common.sh" "$1"
expect_refused() {  # expect_refused PATTERN ARGS...
  local pattern="$1"; shift
  run_copy_task "$@" --out "$WORK/out_dir"
  [ "$STATUS" -eq 2 ] || { cat "$WORK/err"; fail "'$*': exit $STATUS, expected 2"; }
  grep -qF -- "$pattern" "$WORK/err" || { cat "$WORK/err"; fail "'$*': message lacks '$pattern'"; }
  [ "$(wc -l < "$WORK/err")" -le 2 ] || { cat "$WORK/err"; fail "'$*': more than a short message"; }
  [ ! -e "$WORK/out_dir" ] || fail "'$*' left an output folder"
}
expect_refused "--sweep-max: 4611686018427387904 is out of range" --sweep-max 4611686018427387904
for flag in --lr --dropout --lr-drop-factor --sweep-budget; do
  expect_refused "$flag: nan is not finite" "$flag" nan
  expect_refused "$flag: inf is not finite" "$flag" inf
done
expect_refused "--lr: 1e308 is out of range (accepted: finite numbers in (0, 1])" --lr 1e308
expect_refused "--threads: 100000 is out of range" --threads 100000
expect_refused "--layers: 1000000000 is out of range (accepted: whole numbers from 1 to 1000)" --layers 1000000000
expect_refused "needs about" --layers 1000 --d-model 16384 --heads 1
expect_refused "--steps: '99999999999999999999999' is too large" --steps 99999999999999999999999
expect_refused "--seed: '-1' is negative" --seed -1
expect_refused "--seeds: 0 is out of range (accepted: whole numbers from 1 to 1000)" --seeds 0
expect_refused "--seed 18446744073709551615 with --seeds 2: the last run's seed would pass 2^64 - 1" \
  --seed 18446744073709551615 --seeds 2
expect_refused "--seq-lens: '010' has a leading zero" --seq-lens 010
expect_refused "--seq-lens: '0x10' is not a whole number" --seq-lens 0x10
expect_refused "--seq-lens: '8,,16' has an empty item" --protocol seed --seq-lens 8,,16
expect_refused "--seq-lens: ',8' has an empty item" --protocol seed --seq-lens ,8
expect_refused "--seq-lens: 8 is listed twice" --protocol seed --seq-lens 8,8
expect_refused "--steps: 'abc' is not a whole number" --steps abc
expect_refused "--dropout: 1.5 is out of range (accepted: finite numbers in [0, 0.99])" --dropout 1.5
# Choices take their names only: not another spelling, not the number an enum is stored as.
expect_refused "--precision: 'fp16' is not one of fp32, bf16" --precision fp16
expect_refused "--optimizer: '1' is not one of radam, adam" --optimizer 1
expect_refused "--feature-map: 'performer' is not one of elu, relu, favor, learned" --feature-map performer
expect_refused "--feature-map: 'ELU' is not one of elu, relu, favor, learned" --feature-map ELU
expect_refused "--feature-map favor is not for --variant notebook" --protocol seed --variant notebook --feature-map favor
expect_refused "--device: 'gpu' is not one of cpu, cuda, auto" --device gpu
expect_refused "--scale: 'Full' is not one of small, full" --scale Full
expect_refused "--protocol: 'decoder' is not one of paper, seed" --protocol decoder
expect_refused "--test-signal-at: '40' has no ':'" --test-signal-at 40
expect_refused "--test-signal-at: step 0 is out of range" --test-signal-at 0:INT
expect_refused "--test-signal-at: 'HUP' is not a signal this hook sends" --test-signal-at 40:HUP
# Range messages stay short: no 309-digit DBL_MAX.
run_copy_task --lr -1 --out "$WORK/out_dir"
[ "$(wc -c < "$WORK/err")" -lt 300 ] || fail "the range message is too long: $(cat "$WORK/err")"
echo "every hostile flag value was refused with a short message"
