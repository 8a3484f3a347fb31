#!/usr/bin/env bash
# README.md's hyper-parameter tables are what copy_task resolves: for each full-scale configuration
# (paper, seed, seed --variant notebook) the table between "<!-- print-config: <name> -->" and
# "<!-- end print-config -->" must equal, line for line, the table its --print-config prints.
source "$(dirname "$0")/common.sh" "$1"
README="$(dirname "$0")/../../README.md"
for configuration in "paper full" "seed full" "seed full notebook"; do
  read -r protocol _ variant <<< "$configuration"
  run_copy_task --protocol "$protocol" --scale full --variant "${variant:-text}" --print-config
  [ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "$configuration: --print-config exited $STATUS"; }
  grep '^|' "$WORK/out" > "$WORK/printed.md" || fail "$configuration: --print-config printed no table"
  awk -v start="<!-- print-config: $configuration -->" '
    $0 == start { inside = 1; next }
    $0 == "<!-- end print-config -->" { inside = 0 }
    inside && /^\|/ { print }' "$README" > "$WORK/readme.md"
  [ -s "$WORK/readme.md" ] || fail "README.md has no table marked <!-- print-config: $configuration -->"
  [ "$(wc -l < "$WORK/printed.md")" -ge 20 ] || fail "$configuration: the printed table has under 20 rows"
  diff -u "$WORK/readme.md" "$WORK/printed.md" > "$WORK/diff" ||
    { cat "$WORK/diff"; fail "$configuration: README.md's table differs from --print-config (- README, + printed)"; }
done
echo "README tables match --print-config for paper, seed and the seed's notebook"
