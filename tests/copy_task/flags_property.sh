#!/usr/bin/env bash
# Property test over flag vectors, valid and invalid: copy_task always ends with exit code 0, 1 or
# 2 (never a signal, never a hang: a long valid run stops on SIGTERM, or at once on a second
# signal, with 130), and a run refused with 2 leaves no output folder.
# First every flag with every hostile value alone, then random vectors from a fixed seed (so a
# failure is reproducible); EMBER_FLAG_VECTORS sets how many random ones.
source "$(dirname "$0")/common.sh" "$1"
RANDOM=20261203
values=(0 1 2 3 -1 8 16 010 0x10 1e3 1.5 0.5 nan inf -inf abc "" 99999999999999999999 9223372036854775807
        4611686018427387904 100000 1000000000 "8,16" "8,,16" ",8" "4,4" "2,3" 1e-3 0.99 1e308 -0 " 3" "3 ")
flags=(--steps --layers --heads --d-model --d-ff --dropout --batch --lr --lr-drop-step --lr-drop-factor
       --seq-lens --threads --seed --seeds --eval-sequences --log-every --sweep-max --sweep-budget --sweep-batch
       --checkpoint-every --optimizer --attention --protocol --scale --precision --device --feature-map
       --test-signal-at)
words=(radam adam softmax linear both paper seed small full fp32 bf16 cpu cuda auto elu relu favor learned bogus)
hostile=(nan inf -1 0 100000 99999999999999999999 4611686018427387904 010 "" abc)
# Runs one vector; fails the test unless the properties hold.
check_vector() {
  local out="$WORK/vector" status
  local -a args=("$@")
  local -A chosen=()
  local i
  for ((i = 0; i < ${#args[@]}; i += 2)); do chosen[${args[i]}]=1; done
  # A tiny run for every size the vector leaves alone; no sweep unless the vector sets one.
  for default in "--steps 2" "--layers 1" "--d-model 16" "--d-ff 16" "--heads 2" "--batch 2" "--seq-lens 3" \
                 "--eval-sequences 2" "--threads 1" "--sweep-max 16" "--sweep-budget 2"; do
    [ -n "${chosen[${default%% *}]:-}" ] || args+=($default)
  done
  [ -n "${chosen[--sweep-max]:-}${chosen[--sweep-budget]:-}${chosen[--sweep-batch]:-}" ] || args+=(--no-sweep)
  # A valid but long run (--steps 1000000000) gets SIGTERM after 8 s and should stop by itself with
  # 130 (within a second, unless one training step takes longer: --batch 100000); if it has not
  # within 5 s, a second signal must end it at once, as a second Ctrl-C does.
  "$BIN" "${args[@]}" --out "$out" > "$WORK/out" 2> "$WORK/err" &
  local pid=$! waited=0
  while kill -0 "$pid" 2> /dev/null && [ "$waited" -lt 160 ]; do sleep 0.05; waited=$((waited + 1)); done
  if kill -0 "$pid" 2> /dev/null; then
    kill -TERM "$pid"
    waited=0
    while kill -0 "$pid" 2> /dev/null && [ "$waited" -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
    if kill -0 "$pid" 2> /dev/null; then
      kill -INT "$pid"
      sleep 1
      if kill -0 "$pid" 2> /dev/null; then
        kill -KILL "$pid"
        fail "(${args[*]}): a second signal did not end the run"
      fi
    fi
  fi
  set +e
  wait "$pid"
  status=$?
  set -e
  case "$status" in
    0|1|130) ;;
    2) [ ! -e "$out" ] || fail "(${args[*]}): exit 2 left a folder" ;;
    *) cat "$WORK/err"; fail "(${args[*]}): exit $status" ;;
  esac
  counts[$status]=$(( ${counts[$status]:-0} + 1 ))
  rm -rf "$out"
}
declare -A counts=()
# Every flag with every hostile value, alone.
for flag in "${flags[@]}"; do
  for value in "${hostile[@]}"; do check_vector "$flag" "$value"; done
done
# Then random vectors of 1 to 4 flags, valid and invalid values mixed.
count="${EMBER_FLAG_VECTORS:-60}"
for _ in $(seq 1 "$count"); do
  vector=()
  for _ in $(seq 1 $((RANDOM % 4 + 1))); do
    flag="${flags[RANDOM % ${#flags[@]}]}"
    if ((RANDOM % 3 == 0)); then value="${words[RANDOM % ${#words[@]}]}"; else value="${values[RANDOM % ${#values[@]}]}"; fi
    vector+=("$flag" "$value")
  done
  check_vector "${vector[@]}"
done
echo "$(( ${#flags[@]} * ${#hostile[@]} + count )) flag vectors: exit 0 ${counts[0]:-0} times, 1 ${counts[1]:-0}, 2 ${counts[2]:-0}, 130 (stopped by a signal after 8 s) ${counts[130]:-0}; never a crash or a hang; no folder left on exit 2"
