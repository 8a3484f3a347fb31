#!/usr/bin/env bash
# copy_task runs with Ember's OpenMP wait default (ops/runtime_defaults.h, apply_runtime_defaults):
# with neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY set, the running process (the same process id,
# re-executed) has GOMP_SPINCOUNT=3000 in its environment; a value the user set is kept as it
# is, and OMP_WAIT_POLICY set by the user means no GOMP_SPINCOUNT is added.
source "$(dirname "$0")/common.sh" "$1"
# spincount_of ENV...: starts a long tiny run with ENV, prints GOMP_SPINCOUNT of the live process
# ("unset" when absent), then stops it.
spincount_of() {
  rm -rf "$WORK/run"
  env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY "$@" "$BIN" "${TINY[@]}" --steps 100000 --no-sweep --out "$WORK/run" \
    > "$WORK/out" 2>&1 &
  local pid=$!
  wait_for_file "$WORK/run/run.json"  # written after the re-execution, by the same process
  kill -0 "$pid" 2> /dev/null || fail "copy_task (pid $pid) ended early: $(cat "$WORK/out")"
  local value
  value="$(tr '\0' '\n' < "/proc/$pid/environ" | sed -n 's/^GOMP_SPINCOUNT=//p')"
  kill -TERM "$pid"
  wait "$pid" || true
  echo "${value:-unset}"
}
[ "$(spincount_of)" = 3000 ] || fail "without the variables, the run's GOMP_SPINCOUNT is not 3000"
[ "$(spincount_of GOMP_SPINCOUNT=123)" = 123 ] || fail "a GOMP_SPINCOUNT set by the user was not kept"
[ "$(spincount_of OMP_WAIT_POLICY=passive)" = unset ] || fail "OMP_WAIT_POLICY set by the user, yet GOMP_SPINCOUNT was added"
echo "OpenMP wait defaults: 3000 by default, the user's settings kept"
