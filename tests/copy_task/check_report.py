#!/usr/bin/env python3
"""Recomputes what copy_task's report.md concludes from the run's own CSV files and fails unless
the report (and, when given, the summary printed at the end of the run) says the same.

Usage: check_report.py RUN_DIR [STDOUT_LOG]

Written apart from apps/copy_task/report.cpp, from the rules its text states:
- the training table: one row per run (attention, N, seed); steps, final loss and train accuracy are
  the last metrics.csv row of the run, held-out accuracies are eval.csv's;
- across seeds: per (attention, N) the mean over the seeds of those four results ± the half-width
  t s / sqrt(K) of the 95 % confidence interval (t: Student's 0.975 quantile with K - 1 degrees of
  freedom, worked out here by integrating the t density; 1.96 beyond 30 degrees of freedom, as the
  report states), over the runs that did not diverge (eval.csv rows of 0 sequences: never
  evaluated), and "diverged: d of K";
- the timing table: the seconds of timing.csv (points with seconds 0 were skipped);
- crossover: the smallest N from which linear is faster than softmax at every larger N measured
  for both, or the verdict that it never was, with the largest N measured for both;
- scaling exponent: least-squares slope of log(seconds) on log(N) over the larger half of the
  measured N (the last n - (n/2 - 1) points when n < 6, the last n - n/2 otherwise; 3 at least);
- Table 1 in the seed's units: Ember's whole-model s/step x 3000 steps x 8 / sweep batch
  ("measured" at batch 8, "projected" otherwise) beside the seed's P4000 seconds, with the ratio;
- the seed's crossover method: least squares of softmax time on N^2 and linear time on N over the
  points N <= 64 measured for both kinds (3 at least), the larger root where they meet; on the
  seed's own numbers it gives 3148.7;
- the verdicts: "supported", "not supported" or "not enough evidence" for each claim, from the
  thresholds below (the same as apps/copy_task/verdicts.h states, written again here); claim 1 on
  the kinds' mean held-out accuracies and their 95 % intervals (half-width 0 with one seed):
  supported when |gap| + h_softmax + h_linear <= 1 point at every N, not supported when
  |gap| - h_softmax - h_linear > 1 point at some N, else not enough evidence.
Standard library only. Prints what it checked; exits 1 naming the first disagreement.
"""
import csv
import math
import os
import re
import sys

MIN_STEPS, MIN_ACCURACY, SAME_PERFORMANCE = 100, 0.9, 0.01
EXPONENT_TOLERANCE, EXPONENT_MIN_N = 0.25, 512
CROSSOVER_FACTOR, PAPER_CROSSOVER, SEED_CROSSOVER = 2.0, 512, 3149
SLOWDOWN_BAND_FACTOR = 2.0
SEED_STEPS, SEED_BATCH = 3000, 8
SEED_TABLE = {8: (221, 1738), 16: (236, 3004), 32: (287, 5373), 64: (416, 10071)}  # N: (softmax s, linear s)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def close(a, b, tolerance):
    return abs(a - b) <= tolerance


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def measured(timing, scope, kind):
    return {int(r["N"]): float(r["seconds"]) for r in timing
            if r["scope"] == scope and r["attention"] == kind and float(r["seconds"]) > 0}


def crossover(timing, scope):
    """(first N from which linear is faster at every larger N or None, largest N measured for both),
    or None when two timings are too close to order from timing.csv's 6 significant digits."""
    soft, lin = measured(timing, scope, "softmax"), measured(timing, scope, "linear")
    start, largest_both = None, 0
    for n in sorted(lin):
        if n not in soft:
            continue
        if close(lin[n], soft[n], 2e-5 * soft[n]):
            return None
        largest_both = n
        start = (start or n) if lin[n] < soft[n] else None
    return start, largest_both


def crossover_note(timing, scope):
    """The crossover sentence for one scope, or None when two timings are too close to order."""
    c = crossover(timing, scope)
    if c is None:
        return None
    start, largest_both = c
    if not measured(timing, scope, "softmax") or not measured(timing, scope, "linear"):
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


def run_key(row):
    """(attention, N, seed) of an eval.csv or metrics.csv row."""
    return row["attention"], int(row["seq_len"]), int(row["seed"])


def last_rows(metrics):
    last = {}
    for m in metrics:
        last[run_key(m)] = m
    return last


def check_training_table(report, runs, metrics):
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 9 and cells[0] in ("softmax", "linear") and cells[1].isdigit():
            rows[(cells[0], int(cells[1]), int(cells[2]))] = cells
    last = last_rows(metrics)
    for run in runs:
        key = run_key(run)
        if key not in rows:
            fail(f"report.md has no training row for {key}")
        cells = rows[key]
        if key not in last:
            fail(f"metrics.csv has no row for {key}")
        if int(cells[3]) != int(last[key]["step"]):
            fail(f"{key}: report says {cells[3]} steps, metrics.csv ends at step {last[key]['step']}")
        for name, cell, value in (("final loss", cells[4], last[key]["loss"]),
                                  ("train token acc", cells[5], last[key]["token_acc"]),
                                  ("held-out token acc", cells[6], run["token_acc"]),
                                  ("held-out exact seq acc", cells[7], run["exact_seq_acc"])):
            if not close(float(cell), float(value), 6e-5):
                fail(f"{key}: report's {name} {cell} is not the CSV's {value}")
    print(f"training table: {len(runs)} rows agree with metrics.csv and eval.csv")


def t_quantile_975(df):
    """Student's t 0.975 quantile: bisection on the integral of the density (Simpson's rule)."""
    if df > 30:
        return 1.96
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = lambda t: math.exp(log_c) * (1 + t * t / df) ** (-(df + 1) / 2)

    def cdf(x, n=2000):
        h = x / n
        return 0.5 + h / 3 * sum((1 if i in (0, n) else 4 if i % 2 else 2) * density(i * h) for i in range(n + 1))
    low, high = 0.0, 20.0
    for _ in range(40):
        low, high = ((low + high) / 2, high) if cdf((low + high) / 2) < 0.975 else (low, (low + high) / 2)
    return (low + high) / 2


def mean_and_half_width(values):
    """(mean, half-width of the 95 % interval or None for fewer than 2 values), or None for none."""
    if not values:
        return None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, t_quantile_975(len(values) - 1) * s / math.sqrt(len(values))


def seed_groups(runs):
    """{(attention, N): [eval.csv rows, one per seed]}, in training order."""
    groups = {}
    for run in runs:
        groups.setdefault((run["attention"], int(run["seq_len"])), []).append(run)
    return groups


def check_seeds(report, runs, metrics):
    last = last_rows(metrics)
    value = r"(-|[0-9.]+(?: ± [0-9.]+)?)"
    lines = {}
    for found in re.finditer(rf"^- (softmax|linear) N=([0-9]+)(?: \(.*?\))?: final training loss {value}; final "
                             rf"teacher-forced token accuracy {value}; held-out greedy token accuracy {value}; "
                             rf"held-out exact-sequence accuracy {value}; diverged: ([0-9]+) of ([0-9]+)\.$",
                             report, re.MULTILINE):
        lines[(found.group(1), int(found.group(2)))] = found.groups()[2:]
    for key, group in seed_groups(runs).items():
        if key not in lines:
            fail(f"report.md has no line across seeds for {key}")
        *stated, diverged, count = lines[key]
        finished = [r for r in group if int(r["sequences"]) > 0]
        if (int(diverged), int(count)) != (len(group) - len(finished), len(group)):
            fail(f"{key}: report says diverged: {diverged} of {count}, eval.csv has {len(group) - len(finished)} "
                 f"of {len(group)}")
        if len(group) == 1 and "one seed, no interval" not in report:
            fail(f"{key}: one seed, but report.md does not say there is no interval")
        columns = ([float(last[run_key(r)]["loss"]) for r in finished if run_key(r) in last],
                   [float(last[run_key(r)]["token_acc"]) for r in finished if run_key(r) in last],
                   [float(r["token_acc"]) for r in finished], [float(r["exact_seq_acc"]) for r in finished])
        for name, cell, values in zip(("final loss", "teacher-forced accuracy", "held-out token accuracy",
                                       "exact-sequence accuracy"), stated, columns):
            expected = mean_and_half_width(values)
            if expected is None:
                if cell != "-":
                    fail(f"{key} {name}: no value, report says {cell}")
                continue
            mean, half = expected
            parts = cell.split(" ± ")
            if (half is None) != (len(parts) == 1) or not close(float(parts[0]), mean, 6e-5) or (
                    half is not None and not close(float(parts[1]), half, 6e-5 + 1e-4 * half)):
                fail(f"{key} {name}: report says {cell}, the CSV files give {mean} ± {half}")
        print(f"across seeds, {key[0]} N={key[1]}: {len(group)} seed(s) agree, diverged {diverged} of {count}")


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


def line_fit(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxx = sum((a - mx) ** 2 for a in x)
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx
    return my - slope * mx, slope


def seed_method(ns, soft, lin):
    """The larger root of a + b N^2 = c + d N, or None when the fits do not cross."""
    a, b = line_fit([n * n for n in ns], soft)
    c, d = line_fit(ns, lin)
    disc = d * d - 4 * b * (a - c)
    if b <= 0 or disc < 0 or (d + math.sqrt(disc)) <= 0:
        return None
    return (d + math.sqrt(disc)) / (2 * b)


def check_seed_units(report, timing):
    batches = {int(r["batch"]) for r in timing if r["scope"] == "model"}
    if len(batches) != 1:
        fail(f"timing.csv's model rows have batches {batches}")
    batch = batches.pop()
    scale = SEED_STEPS * SEED_BATCH / batch
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 10 and cells[0].isdigit():
            rows[int(cells[0])] = cells
    soft, lin = measured(timing, "model", "softmax"), measured(timing, "model", "linear")
    for n, (seed_soft, seed_lin) in SEED_TABLE.items():
        cells = rows.get(n) or fail(f"Table 1 in the seed's units has no row N={n}")
        if float(cells[5]) != seed_soft or float(cells[6]) != seed_lin:
            fail(f"seed units N={n}: the seed's numbers are {seed_soft}/{seed_lin}, report says {cells[5]}/{cells[6]}")
        if cells[9] != ("measured" if batch == SEED_BATCH else "projected"):
            fail(f"seed units N={n}: batch {batch} is marked '{cells[9]}'")
        for series, seed, units, ratio in ((soft, seed_soft, cells[3], cells[7]), (lin, seed_lin, cells[4], cells[8])):
            if n not in series:
                if units != "-" or ratio != "-":
                    fail(f"seed units N={n}: not measured, but the report has {units} and {ratio}")
                continue
            if not close(float(units), series[n] * scale, 1e-3 * series[n] * scale):
                fail(f"seed units N={n}: {units} is not {series[n]} x {scale}")
            if not close(float(ratio), series[n] * scale / seed, 1e-3 * series[n] * scale / seed):
                fail(f"seed units N={n}: ratio {ratio} is not {series[n] * scale / seed}")
    print(f"Table 1 in the seed's units: batch {batch}, {'measured' if batch == SEED_BATCH else 'projected'}")

    ns = sorted(SEED_TABLE)
    seed_n = seed_method(ns, [SEED_TABLE[n][0] for n in ns], [SEED_TABLE[n][1] for n in ns])
    if f"on the seed's P4000 numbers: N = {seed_n:.1f} " not in report or f"{seed_n:.1f}" != "3148.7":
        fail(f"the seed's method on the seed's numbers gives {seed_n:.1f}: report.md must say so, and it must be "
             "3148.7")
    for scope, label in (("model", "whole model"), ("attention", "attention alone")):
        s_pts, l_pts = measured(timing, scope, "softmax"), measured(timing, scope, "linear")
        ns = [n for n in sorted(s_pts) if n <= 64 and n in l_pts]
        found = re.search(rf"- Crossover by the seed's method \({label}\): (N = ([0-9.]+)|none)", report)
        if not found:
            fail(f"report.md has no seed-method crossover line for {label}")
        expected = seed_method(ns, [s_pts[n] for n in ns], [l_pts[n] for n in ns]) if len(ns) >= 3 else None
        stated = float(found.group(2)) if found.group(2) else None
        if (expected is None) != (stated is None) or (stated is not None
                                                       and not close(stated, expected, 0.01 * expected)):
            fail(f"seed-method crossover ({label}): report.md says '{found.group(1)}', the timings give {expected}")
        print(f"seed-method crossover ({label}): {found.group(1)}")


def expected_verdicts(runs, metrics, timing):
    """{claim prefix: (verdict, (regex, value, tolerance) for a number of the evidence, or None)}; a verdict
    of None (timings too close to order) is not checked."""
    last = last_rows(metrics)
    out = {}
    compared = any(a["seq_len"] == b["seq_len"] and a["attention"] != b["attention"] for a in runs for b in runs)
    weak = [r for r in runs if run_key(r) not in last or int(last[run_key(r)]["step"]) < MIN_STEPS
            or int(r["sequences"]) == 0 or float(r["token_acc"]) < MIN_ACCURACY]
    groups = seed_groups(runs)
    same, differ, first_gap = True, False, None
    for (kind, n), softmax in groups.items():
        if kind != "softmax" or ("linear", n) not in groups:
            continue
        s_mean, s_half = mean_and_half_width([float(r["token_acc"]) for r in softmax])
        l_mean, l_half = mean_and_half_width([float(r["token_acc"]) for r in groups[("linear", n)]])
        gap, spread = abs(s_mean - l_mean), (s_half or 0) + (l_half or 0)
        same, differ = same and gap + spread <= SAME_PERFORMANCE, differ or gap - spread > SAME_PERFORMANCE
        first_gap = gap if first_gap is None else first_gap
    if not compared or weak:
        out["1. Linear attention converges"] = ("not enough evidence", None)
    else:
        verdict = "supported" if same else "not supported" if differ else "not enough evidence"
        out["1. Linear attention converges"] = (verdict, (r"gap ([0-9.]+) points", 100 * first_gap, 0.011))
    for kind, claimed in (("linear", 1), ("softmax", 2)):
        key = f"2. {kind.capitalize()} attention's time grows"
        k = scaling_exponent(timing, "attention", kind) if timing else None
        pts = measured(timing, "attention", kind) if timing else {}
        if k is None or max(pts) < EXPONENT_MIN_N:
            out[key] = ("not enough evidence", None)
        else:
            out[key] = ("supported" if abs(k - claimed) <= EXPONENT_TOLERANCE else "not supported", None)
    faster_from = "3. Linear attention is faster than softmax from N = {} "
    for scope, claimed in (("attention", PAPER_CROSSOVER), ("model", SEED_CROSSOVER)):
        key = faster_from.format(claimed)
        c = crossover(timing, scope) if timing else (None, 0)
        low, high = claimed / CROSSOVER_FACTOR, claimed * CROSSOVER_FACTOR
        if c is None:
            out[key] = (None, None)
        elif c[1] == 0 or (c[0] is None and c[1] <= high):
            out[key] = ("not enough evidence", None)
        elif c[0] is None:
            out[key] = ("not supported", None)
        else:
            out[key] = ("supported" if low <= c[0] <= high else "not supported", None)
    ratios = [lin / soft for soft, lin in SEED_TABLE.values()]
    low, high = min(ratios) / SLOWDOWN_BAND_FACTOR, max(ratios) * SLOWDOWN_BAND_FACTOR
    key = f"3. Linear attention is {min(ratios):.1f}-{max(ratios):.1f}x slower"
    soft, lin = (measured(timing, "model", "softmax"), measured(timing, "model", "linear")) if timing else ({}, {})
    if not all(n in soft and n in lin for n in SEED_TABLE):
        out[key] = ("not enough evidence", None)
    else:
        ember = [lin[n] / soft[n] for n in SEED_TABLE]
        out[key] = ("supported" if all(low <= r <= high for r in ember) else "not supported",
                    (r"([0-9.]+)x at N=8,", ember[0], 0.006 + 1e-3 * ember[0]))
    return out


def check_verdicts(report, runs, metrics, timing):
    rows = []
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and re.match(r"^[0-9]\. ", cells[0]):
            rows.append(cells)
    for prefix, (verdict, number) in expected_verdicts(runs, metrics, timing).items():
        matching = [r for r in rows if r[0].startswith(prefix)]
        if len(matching) != 1:
            fail(f"report.md has {len(matching)} verdict rows for '{prefix}'")
        claim, stated, evidence, threshold = matching[0]
        if stated not in ("supported", "not supported", "not enough evidence") or not threshold:
            fail(f"'{claim}': verdict '{stated}', threshold '{threshold}'")
        if verdict is not None and stated != verdict:
            fail(f"'{claim}': expected '{verdict}', report.md says '{stated}' ({evidence})")
        if number is not None:
            pattern, value, tolerance = number
            found = re.search(pattern, evidence)
            if not found or not close(float(found.group(1)), value, tolerance):
                fail(f"'{claim}': the evidence '{evidence}' does not give {value:.4g}")
        print(f"verdict: {claim}: {stated} ({evidence})")
    if timing is None and "the timing sweep was not run" not in report:
        fail("no timing.csv, but no verdict says the sweep was not run")


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
    check_seeds(report, runs, metrics)
    check_timing(report, timing, summary)
    if timing is not None:
        check_seed_units(report, timing)
    check_verdicts(report, runs, metrics, timing)


main()
