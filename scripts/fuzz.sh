#!/usr/bin/env bash
# Builds Ember's libFuzzer targets (clang, with ASan+UBSan) in build-fuzz/ and runs each one for
# SECONDS (default 60) starting from its committed seed corpus (tests/fuzz/corpus/<target>/).
# New interesting inputs go to build-fuzz/corpus/<target>/, never into the committed seeds. A
# crash, sanitizer report, leak, timeout or uncaught exception fails the run and leaves the input
# in build-fuzz/artifacts/ (turn it into a regression test; see tests/fuzz/README.md).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: safetensors checkpoint (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(safetensors checkpoint)

bash scripts/install-deps.sh
# -O1 -g1 (line tables): instrumented code compiles 2-3x faster than at -O2 -g, which was most of
# this stage's time on 2 cores, and sanitizer reports still name file and line.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DEMBER_CUDA=OFF -DEMBER_FUZZ=ON -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_APPS=OFF -DEMBER_BUILD_BENCH=OFF > /dev/null
cmake --build build-fuzz --parallel "$(nproc)" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")

mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for target in "${TARGETS[@]}"; do
  corpus="build-fuzz/corpus/$target"
  log="build-fuzz/fuzz_$target.log"
  mkdir -p "$corpus"
  # One process; -timeout flags any single input that takes over 10 s (a hang).
  if ! "build-fuzz/tests/fuzz/fuzz_$target" "$corpus" "tests/fuzz/corpus/$target" \
       -dict=tests/fuzz/safetensors.dict -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
       -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target-" > "$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $target: FAILED (input saved under build-fuzz/artifacts/, log $log)"
    status=1
    continue
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
  echo "fuzz $target: ${runs} executions in ${SECONDS_EACH} s (${speed}/s), ${cov}, no crash"
done
exit $status
