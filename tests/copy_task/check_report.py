#!/usr/bin/env python3
"""Recomputes what copy_task's report.md concludes from the run's own CSV files and fails unless
the report (and, when given, the summary printed at the end of the run) says the same.

Usage: check_report.py RUN_DIR [STDOUT_LOG]

Written apart from apps/copy_task/report.cpp, from the rules its text states:
- the training table: steps, final loss and train accuracy are the last metrics.csv row of each run,
  held-out accuracies are eval.csv's;
- the timing table: the seconds of timing.csv (points with seconds 0 were skipped);
- crossover: the smallest N from which linear is faster than softmax at every larger N measured
  for both, or the verdict that it never was, with the largest N measured for both;
- scaling exponent: least-squares slope of log(seconds) on log(N) over the larger half of the
  measured N (the last n - (n/2 - 1) points when n < 6, the last n - n/2 otherwise; 3 at least);
- claim 1: no verdict unless both kinds ran at the same N, every run trained at least 100 steps
  and reached 90% held-out token accuracy; then "holds" when the kinds are within 1 point.
Standard library only. Prints what it checked; exits 1 naming the first disagreement.
"""
import csv
import math
import os
import re
import sys

MIN_STEPS, MIN_ACCURACY, SAME_PERFORMANCE = 100, 0.9, 0.01


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def close(a, b, tolerance):
    return abs(a - b) <= tolerance


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def crossover_note(timing, scope):
    """The crossover sentence for one scope, or None when two timings are too close to order from
    the 6 significant digits timing.csv keeps."""
    def measured(kind):
        return {int(r["N"]): float(r["seconds"]) for r in timing
                if r["scope"] == scope and r["attention"] == kind and float(r["seconds"]) > 0}
    soft, lin = measured("softmax"), measured("linear")
    start, largest_both = None, 0
    for n in sorted(lin):
        if n not in soft:
            continue
        if close(lin[n], soft[n], 2e-5 * soft[n]):
            return None
        largest_both = n
        if lin[n] < soft[n]:
            start = start or n
        else:
            start = None
    if not soft or not lin:
        return "not measured (the sweep needs both kinds)"
    if start is None:
        return f"linear was not faster up to N={largest_both}, the largest N measured for both"
    return f"linear is faster from N={start} on (measured to N={largest_both} for both kinds)"


def scaling_exponent(timing, scope, kind):
    points = sorted((int(r["N"]), float(r["seconds"])) for r in timing
                    if r["scope"] == scope and r["attention"] == kind and float(r["seconds"]) > 0)
    if len(points) < 3:
        return None
    drop = len(points) // 2 - (0 if len(points) >= 6 else 1)
    xy = [(math.log(n), math.log(s)) for n, s in points[drop:]]
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    return sum((x - mx) * (y - my) for x, y in xy) / sxx if sxx > 0 else None


def check_training_table(report, runs, metrics):
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in ("softmax", "linear") and cells[1].isdigit():
            rows[(cells[0], int(cells[1]))] = cells
    for run in runs:
        key = (run["attention"], int(run["seq_len"]))
        if key not in rows:
            fail(f"report.md has no training row for {key}")
        cells = rows[key]
        history = [m for m in metrics if (m["attention"], int(m["seq_len"])) == key]
        if not history:
            fail(f"metrics.csv has no row for {key}")
        last = history[-1]
        if int(cells[2]) != int(last["step"]):
            fail(f"{key}: report says {cells[2]} steps, metrics.csv ends at step {last['step']}")
        for name, cell, value in (("final loss", cells[3], last["loss"]),
                                  ("train token acc", cells[4], last["token_acc"]),
                                  ("held-out token acc", cells[5], run["token_acc"]),
                                  ("held-out exact seq acc", cells[6], run["exact_seq_acc"])):
            if not close(float(cell), float(value), 6e-5):
                fail(f"{key}: report's {name} {cell} is not the CSV's {value}")
    print(f"training table: {len(runs)} rows agree with metrics.csv and eval.csv")


def check_timing(report, timing, summary):
    if timing is None:
        if "The timing sweep was not run" not in report:
            fail("no timing.csv, but report.md does not say the sweep was skipped")
        return
    table = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            table[int(cells[0])] = cells[1:]
    columns = [("model", "softmax"), ("model", "linear"), ("attention", "softmax"), ("attention", "linear")]
    for r in timing:
        seconds, n = float(r["seconds"]), int(r["N"])
        cell = table.get(n, [None] * 4)[columns.index((r["scope"], r["attention"]))]
        if seconds > 0 and (cell in (None, "-") or not close(float(cell), seconds, 1e-3 * seconds)):
            fail(f"timing table: N={n} {r['scope']} {r['attention']} is {cell}, timing.csv says {seconds}")
        if seconds == 0 and not r["note"].startswith("skipped"):
            fail(f"timing.csv: N={n} {r['scope']} {r['attention']} has no time and no reason")
    for scope, label, summary_label in (("model", "whole model", "whole model"),
                                        ("attention", "attention alone", "attention")):
        note = crossover_note(timing, scope)
        if note is None:
            print(f"crossover ({label}): two timings are within 6 digits of each other; sentence not checked")
        else:
            if f"- Crossover ({label}): {note}." not in report:
                fail(f"report.md's crossover ({label}) is not '{note}'")
            if summary is not None and not re.search(rf"^crossover \({summary_label}\): +{re.escape(note)}$", summary,
                                                     re.MULTILINE):
                fail(f"the printed summary's crossover ({scope}) is not '{note}'")
            print(f"crossover ({label}): {note}")
        for kind in ("softmax", "linear"):
            found = re.search(rf"- Scaling exponent, {kind} {scope} .*?: (k = (-?[0-9.]+)|too few points)\.", report)
            if not found:
                fail(f"report.md has no scaling exponent line for {kind} {scope}")
            k = scaling_exponent(timing, scope, kind)
            stated = float(found.group(2)) if found.group(2) else None
            if (k is None) != (stated is None) or (k is not None and not close(k, stated, 0.006)):
                fail(f"{kind} {scope}: report.md says '{found.group(1)}', the timings give {k}")
            print(f"scaling exponent, {kind} {scope}: {found.group(1)}")


def check_claim_one(report, runs, metrics):
    steps = {}
    for m in metrics:
        steps[(m["attention"], int(m["seq_len"]))] = int(m["step"])
    compared = any(a["seq_len"] == b["seq_len"] and a["attention"] != b["attention"] for a in runs for b in runs)
    weak = [r for r in runs if steps[(r["attention"], int(r["seq_len"]))] < MIN_STEPS
            or float(r["token_acc"]) < MIN_ACCURACY]
    gap = max((abs(float(a["token_acc"]) - float(b["token_acc"])) for a in runs for b in runs
               if a["seq_len"] == b["seq_len"]), default=0.0)
    verdicts = {"none": "Only one attention kind was trained", "weak": "Not enough evidence for a verdict",
                "holds": "the claim holds in this run", "fails": "the claim does not hold at this training length"}
    expected = ("none" if not compared else "weak" if weak else "holds" if gap <= SAME_PERFORMANCE else "fails")
    for name, sentence in verdicts.items():
        if (sentence in report) != (name == expected):
            fail(f"claim 1: expected the verdict '{verdicts[expected]}' (largest gap {gap:.6f}, "
                 f"{len(weak)} runs too weak), report.md {'says' if sentence in report else 'lacks'} '{sentence}'")
    if expected in ("holds", "fails"):
        found = re.search(r"(within|by up to) ([0-9.]+) percentage points", report)
        if not found or not close(float(found.group(2)), 100 * gap, 0.011):
            fail(f"claim 1: the gap stated is not {100 * gap:.2f} percentage points")
    print(f"claim 1: '{verdicts[expected]}' (largest held-out gap {100 * gap:.2f} points)")


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: check_report.py RUN_DIR [STDOUT_LOG]")
    run_dir = sys.argv[1]
    report = open(os.path.join(run_dir, "report.md")).read()
    summary = open(sys.argv[2]).read() if len(sys.argv) == 3 else None
    runs = read_csv(os.path.join(run_dir, "eval.csv"))
    metrics = read_csv(os.path.join(run_dir, "metrics.csv"))
    timing_path = os.path.join(run_dir, "timing.csv")
    timing = read_csv(timing_path) if os.path.exists(timing_path) else None
    check_training_table(report, runs, metrics)
    check_timing(report, timing, summary)
    check_claim_one(report, runs, metrics)


main()
