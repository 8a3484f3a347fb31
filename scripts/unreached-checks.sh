#!/usr/bin/env bash
# Lists the EMBER_CHECKs in ops/ and nn/ that no error row reaches (the op table's rows and those of
# tests/test_error_inputs.cpp), by running the test that requires each to be reached or listed in
# tests/ops/unreached_checks.txt. Usage: scripts/unreached-checks.sh [build dir, default build]
set -euo pipefail
build="${1:-build}"
"$build/tests/ember_tests" -tc="error inputs: every EMBER_CHECK in ops/ and nn/ is reached by an error row" \
  | sed -n '/rows reach/p; /no error row reaches/,/^$/p; /listed in tests.*:/p' || true
echo "listed as unreached (tests/ops/unreached_checks.txt): $(grep -vc '^#' "$(dirname "$0")/../tests/ops/unreached_checks.txt")"
