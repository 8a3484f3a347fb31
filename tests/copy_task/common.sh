# Shared by the copy_task integration tests: the binary under test, a scratch folder, and helpers.
# Usage from a test: source common.sh "$COPY_TASK_BINARY"
set -euo pipefail
BIN="$(realpath "$1")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/copy_task_test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# A configuration that trains in well under a second per run.
TINY=(--steps 6 --layers 1 --d-model 16 --d-ff 16 --heads 2 --batch 4 --seq-len 4 --eval-sequences 4 --threads 1)
# Runs the binary with a time limit; sets STATUS (124: timed out) and leaves stdout/stderr in
# $WORK/out and $WORK/err.
run_copy_task() {
  set +e
  timeout 60 "$BIN" "$@" > "$WORK/out" 2> "$WORK/err"
  STATUS=$?
  set -e
}
# Waits (at most 30 s) until file $1 exists.
wait_for_file() {
  for _ in $(seq 1 600); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "$1 did not appear"
}
