#!/usr/bin/env bash
# The one command a lent GPU machine runs: everything CUDA in Ember, verified in under 12 minutes
# on an H100/H200, every log and CSV in one folder.
#
#   here (apt):     bash scripts/device-deps.sh fetch            # .device-deps/debs, git-ignored
#   there:          bash scripts/gpu-verify.sh "$OUT"            # a device call carrying .device-deps/debs
#   here, to check: bash scripts/gpu-verify.sh --dry-run DIR     # the whole script, GPU stages stubbed
#
# Stages, each under its own time limit (a stage that runs out fails; the later ones still run):
#   1 versions   GPU name, driver, CUDA, cuDNN and NCCL versions; stops at once without a usable GPU
#   2 build      scripts/device-deps.sh build (Release, CUDA, cuDNN from PyTorch's wheel if present)
#   3 usable     one CUDA test through Ember's own device query: stops at once if CUDA is unusable
#                or the test was skipped
#   4 tests      ctest -L cuda (bfloat16 cases with EMBER_CUDNN_DEBUG=1); fails if any was skipped
#   5 memcheck   compute-sanitizer --tool memcheck on the parity tests
#   6 racecheck  compute-sanitizer --tool racecheck on the kernels with shared memory
#   7 bench      bench/gpu.sh attention (Ember vs PyTorch on the same GPU), results copied
#   8 copy_task  the seed protocol's model on CUDA at N = 8, 300 steps, both kinds, no sweep
# Exit code: 0 when every stage passed, 1 when one failed, 2 for bad usage or no usable GPU.
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; shift; fi
[ $# -eq 1 ] || { echo "usage: scripts/gpu-verify.sh [--dry-run] OUTPUT_DIR" >&2; exit 2; }
out="$1"
mkdir -p "$out" || { echo "gpu-verify: cannot create $out" >&2; exit 2; }
out="$(cd "$out" && pwd)"
summary="$out/summary.txt"
: > "$summary"

# Seconds per stage; the sum stays under 12 minutes with room for the machine's start.
declare -A limit=([versions]=20 [build]=250 [usable]=30 [tests]=90 [memcheck]=80 [racecheck]=50 [bench]=100
                  [copy_task]=40)
total=0
for stage in "${!limit[@]}"; do total=$((total + limit[$stage])); done
[ "$total" -le 720 ] || { echo "gpu-verify: stage limits add up to $total s, over 12 minutes" >&2; exit 2; }

failed=0
note() { echo "$*" | tee -a "$summary"; }

# run_stage NAME COMMAND...: runs COMMAND under the stage's limit, log in OUT/NAME.log. In a dry
# run the command is replaced by a stub that says what would run.
run_stage() {
  local name="$1"; shift
  local start=$SECONDS status
  if [ "$dry_run" -eq 1 ]; then
    printf '[dry run] would run under %s s: %s\n' "${limit[$name]}" "$*" > "$out/$name.log"
    status=0
  else
    timeout --kill-after=10 "${limit[$name]}" "$@" > "$out/$name.log" 2>&1
    status=$?
  fi
  if [ "$status" -eq 0 ]; then
    note "PASS $name ($((SECONDS - start)) s)"
  else
    [ "$status" -eq 124 ] && note "FAIL $name: over its ${limit[$name]} s limit" || note "FAIL $name: exit $status"
    tail -20 "$out/$name.log" | sed 's/^/    /' | tee -a "$summary"
    failed=1
  fi
  return "$status"
}

# skipped_tests LOG: the CTest tests a log reports as skipped (EMBER_SKIP, tests/helpers.h).
skipped_tests() { grep -E '\*\*\*Skipped|Not Run' "$1" || true; }

# --- 1 versions
versions() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2
  for header in cudnn_version.h nccl.h; do
    found="$(find /usr/local/cuda/include /usr/include "$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2> /dev/null || echo /nonexistent)" \
             -name "$header" 2> /dev/null | head -1)"
    if [ -n "$found" ]; then
      echo "$header: $(grep -E '#define (CUDNN|NCCL)_(MAJOR|MINOR|PATCHLEVEL|PATCH)\b' "$found" | awk '{print $3}' | paste -sd.)"
    else
      echo "$header: not found"
    fi
  done
  python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)' 2> /dev/null || echo "PyTorch: none"
}
if ! run_stage versions versions; then
  note "no usable NVIDIA GPU here (see $out/versions.log): stopping"
  exit 2
fi
[ "$dry_run" -eq 1 ] || cat "$out/versions.log" | tee -a "$summary"

# --- 2 build
if [ "$dry_run" -eq 0 ] && [ ! -d .device-deps/debs ]; then
  note "FAIL build: .device-deps/debs is missing: run 'bash scripts/device-deps.sh fetch' where apt works, and carry it"
  exit 2
fi
run_stage build bash scripts/device-deps.sh build
# shellcheck source=/dev/null
[ "$dry_run" -eq 1 ] || source .device-deps/env.sh

# --- 3 usable: Ember's own device query answers, and the test ran rather than skipped
run_stage usable ctest --test-dir build -R "cuda parity: elementwise" --output-on-failure
if [ "$dry_run" -eq 0 ] && { [ "$failed" -ne 0 ] || [ -n "$(skipped_tests "$out/usable.log")" ]; }; then
  note "CUDA is not usable through Ember (see $out/usable.log): stopping"
  exit 2
fi

# --- 4 tests
cuda_tests() {
  ctest --test-dir build -L cuda -E "cuda bf16" --output-on-failure
  local a=$?
  EMBER_CUDNN_DEBUG=1 ctest --test-dir build -R "cuda bf16" -V
  local b=$?
  return $((a != 0 || b != 0))
}
run_stage tests cuda_tests
if [ "$dry_run" -eq 0 ] && [ -n "$(skipped_tests "$out/tests.log")" ]; then
  note "FAIL tests: CUDA tests were skipped on a GPU machine:"
  skipped_tests "$out/tests.log" | tee -a "$summary"
  failed=1
fi

# --- 5, 6 compute-sanitizer
run_stage memcheck compute-sanitizer --tool memcheck --error-exitcode 1 build/tests/ember_tests -tc="cuda parity: *"
run_stage racecheck compute-sanitizer --tool racecheck --error-exitcode 1 build/tests/ember_tests \
  -tc="cuda parity: softmax,cuda parity: layer_norm,cuda parity: reductions,cuda parity: scaled_dot_product_attention"

# --- 7 bench
copy_bench() {
  bash bench/gpu.sh attention && cp -r bench/results/"$(date +%Y-%m-%d)"-gpu "$out/bench"
}
run_stage bench copy_bench

# --- 8 copy task
run_stage copy_task build/apps/copy_task/copy_task --device cuda --protocol seed --scale full --seq-lens 8 \
  --steps 300 --eval-sequences 64 --no-sweep --out "$out/copy_task"

if [ "$dry_run" -eq 1 ]; then
  # The parts that decide pass or fail without a GPU: skip detection on both kinds of log.
  printf '1/2 Test #1: cuda parity: softmax ...   Passed\n' > "$out/sample_passed.log"
  printf '1/2 Test #2: cuda parity: matmul ...***Skipped   0.01 sec\n' > "$out/sample_skipped.log"
  [ -z "$(skipped_tests "$out/sample_passed.log")" ] || { note "FAIL dry run: a passed test read as skipped"; failed=1; }
  [ -n "$(skipped_tests "$out/sample_skipped.log")" ] || { note "FAIL dry run: a skipped test went unnoticed"; failed=1; }
  for file in scripts/device-deps.sh bench/gpu.sh bench/torch_reference.py bench/ratios.py; do
    [ -f "$file" ] || { note "FAIL dry run: $file is missing"; failed=1; }
  done
  note "dry run: stage limits add up to $total s"
fi
[ "$failed" -eq 0 ] && note "gpu-verify: every stage passed" || note "gpu-verify: some stages failed (see above)"
exit "$failed"
