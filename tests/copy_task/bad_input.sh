#!/usr/bin/env bash
# Bad input gives a one-line error naming the problem and exit code 2, never a crash.
source "$(dirname "$0")/common.sh" "$1"
expect_error() {
  local pattern="$1"; shift
  set +e
  "$BIN" "$@" > "$WORK/out" 2> "$WORK/err"
  local status=$?
  set -e
  [ "$status" -eq 2 ] || { cat "$WORK/err"; fail "'$*' exited $status, expected 2"; }
  grep -qi -- "$pattern" "$WORK/err" || { cat "$WORK/err"; fail "'$*' error does not mention '$pattern'"; }
  ! grep -qi "terminate\|Aborted\|Segmentation" "$WORK/err" || fail "'$*' crashed"
}
expect_error "--bogus" --bogus
expect_error "steps" --steps -5
expect_error "seq-len" --seq-len 0
expect_error "attention" --attention foo
expect_error "not writable\|cannot create" --out /proc/ember_cannot_write_here --no-sweep --steps 1
mkdir -p "$WORK/ro" && chmod 500 "$WORK/ro"
if [ "$(id -u)" -ne 0 ]; then expect_error "not writable" --out "$WORK/ro/run" --steps 1 --no-sweep; fi
# A corrupt checkpoint, and a checkpoint from another configuration.
"$BIN" --steps 4 --checkpoint-every 2 --layers 1 --d-model 16 --d-ff 16 --attention softmax --no-sweep \
  --eval-sequences 8 --out "$WORK/run" > /dev/null
ckpt="$WORK/run/checkpoint_softmax_24.safetensors"
[ -f "$ckpt" ] || fail "no checkpoint written"
cp "$ckpt" "$WORK/good.safetensors"
head -c 100 "$WORK/good.safetensors" > "$ckpt"
expect_error "checkpoint\|safetensors" --resume "$WORK/run" --steps 4 --checkpoint-every 2 --layers 1 --d-model 16 \
  --d-ff 16 --attention softmax --no-sweep
cp "$WORK/good.safetensors" "$ckpt"
# A flag that disagrees with the run's run.json, and a checkpoint of another configuration.
expect_error "d-model is 16 in this run" --resume "$WORK/run" --d-model 32
"$BIN" --steps 4 --checkpoint-every 2 --layers 1 --d-model 32 --d-ff 16 --attention softmax --no-sweep \
  --eval-sequences 8 --out "$WORK/other" > /dev/null
cp "$WORK/other/checkpoint_softmax_24.safetensors" "$ckpt"
expect_error "belongs to another run" --resume "$WORK/run"
expect_error "no run.json" --resume "$WORK/empty_dir_that_does_not_exist"
echo "every bad input was refused with exit code 2"
