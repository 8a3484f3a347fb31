#!/usr/bin/env bash
# README.md's hyper-parameter tables are what copy_task resolves: for each full-scale protocol the
# table between "<!-- print-config: <protocol> full -->" and "<!-- end print-config -->" must equal,
# line for line, the table `copy_task --protocol <protocol> --scale full --print-config` prints.
source "$(dirname "$0")/common.sh" "$1"
README="$(dirname "$0")/../../README.md"
for protocol in paper seed; do
  run_copy_task --protocol "$protocol" --scale full --print-config
  [ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "$protocol: --print-config exited $STATUS"; }
  grep '^|' "$WORK/out" > "$WORK/printed.md" || fail "$protocol: --print-config printed no table"
  awk -v start="<!-- print-config: $protocol full -->" '
    $0 == start { inside = 1; next }
    $0 == "<!-- end print-config -->" { inside = 0 }
    inside && /^\|/ { print }' "$README" > "$WORK/readme.md"
  [ -s "$WORK/readme.md" ] || fail "README.md has no table marked <!-- print-config: $protocol full -->"
  [ "$(wc -l < "$WORK/printed.md")" -ge 20 ] || fail "$protocol: the printed table has under 20 rows"
  diff -u "$WORK/readme.md" "$WORK/printed.md" > "$WORK/diff" ||
    { cat "$WORK/diff"; fail "$protocol: README.md's table differs from --print-config (- README, + printed)"; }
done
echo "README tables match --print-config for paper and seed"
