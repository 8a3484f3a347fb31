#!/usr/bin/env bash
# Case 1: an --out holding quotes and shell syntax is a folder name, never a command; plots are
# drawn into it (gnuplot runs without a shell) and nothing else is executed.
source "$(dirname "$0")/common.sh" "$1"
cd "$WORK"
for name in "x';touch PWNED;echo '" "it's here" 'quote" and $(touch PWNED2) and `touch PWNED3`'; do
  run_copy_task "${TINY[@]}" --sweep-max 16 --sweep-budget 5 --out "$WORK/$name"
  [ "$STATUS" -eq 0 ] || { cat "$WORK/err"; fail "--out \"$name\": exit $STATUS"; }
  for picture in loss.png time_vs_n.png; do
    [ -s "$WORK/$name/$picture" ] || fail "--out \"$name\": no $picture"
    head -c 8 "$WORK/$name/$picture" | grep -q PNG || fail "--out \"$name\": $picture is not a PNG"
  done
done
for planted in PWNED PWNED2 PWNED3; do
  [ ! -e "$WORK/$planted" ] || fail "a command in --out was executed ($planted exists)"
done
echo "hostile --out names were used as plain folder names; plots drawn"
