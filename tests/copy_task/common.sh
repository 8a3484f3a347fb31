# Shared by the copy_task integration tests: the binary under test and a scratch folder.
# Usage from a test: source common.sh "$COPY_TASK_BINARY"
set -euo pipefail
BIN="$1"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/copy_task_test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
