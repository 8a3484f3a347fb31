#!/usr/bin/env python3
"""Reads a raw.csv written by bench/compare.sh (or bench/gpu.sh) and prints a markdown table: each
benchmark point with Ember's seconds and each PyTorch's, the ratios Ember/PyTorch side by side
(below 1: Ember is faster), and for attention the fraction of the best SGEMM rate measured in the
same run. Below it, the CPU performance targets of issue #16 against the newest PyTorch in the
file: each one's worst measured ratio over the points it names, and whether it is met.

A file from `ROUNDS=k bench/compare.sh` holds k rows per point and implementation, round by round
in file order: a point's seconds are the median over its rounds, and its ratio is the median of the
per-round ratios (Ember's i-th time over PyTorch's i-th, measured one after the other), which a
busy host disturbs less than a ratio of two single timings.

The PyTorch columns are the impl values other than "ember", newest version first: "torch2.15",
"torch1.13" (bench/torch_reference.py names its version), or "torch" in runs made before it did
(PyTorch 1.13 on the CPU: see bench/results/README.md)."""
import csv
import re
import statistics
import sys


def version(impl):
    """torch2.15 -> (2, 15); the unversioned "torch" of older runs sorts last."""
    return tuple(int(x) for x in re.findall(r"\d+", impl))


def label(impl):
    return "PyTorch " + impl[len("torch"):] if impl.startswith("torch") and impl != "torch" else "PyTorch"


def main(path):
    rows = list(csv.DictReader(open(path)))
    ceiling = max((float(r["gflops"]) for r in rows if r["op"] == "sgemm" and r["impl"] == "ember"), default=0.0)
    key = lambda r: (r["op"], r["kind"].replace("softmax_unfused", "softmax"), r["causal"], r["B"], r["H"], r["N"], r["D"])
    points = {}  # point -> impl -> its rows, one per round
    for r in rows:
        points.setdefault(key(r), {}).setdefault(r["impl"], []).append(r)
    rounds = max((len(runs) for impls in points.values() for runs in impls.values()), default=0)
    torches = sorted({r["impl"] for r in rows if r["impl"] != "ember"}, key=version, reverse=True)
    print(f"SGEMM ceiling (best Ember sgemm in this run): {ceiling:.1f} GFLOP/s")
    if rounds > 1:
        print(f"\n{rounds} interleaved rounds: seconds and GFLOP/s are medians over the rounds, ratios the median of "
              "the per-round ratios")
    print()
    columns = ["op", "kind", "causal", "B", "H", "N", "D", "Ember s"] + [f"{label(t)} s" for t in torches] + \
        [f"Ember/{label(t)}" for t in torches] + ["Ember GFLOP/s", "of SGEMM"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for k, impls in points.items():
        es = median_field(impls.get("ember"), "seconds")
        ts = [median_field(impls.get(t), "seconds") for t in torches]
        rs = [ratio(impls, t) for t in torches]
        gflops = median_field(impls.get("ember"), "gflops") or 0.0
        cells = list(k) + [f"{es:.4g}" if es is not None else "-"] + \
            [f"{s:.4g}" if s is not None else "-" for s in ts] + \
            [f"{r:.2f}" if r else "-" for r in rs] + [
            f"{gflops:.3g}" if gflops else "",
            f"{gflops / ceiling:.0%}" if k[0] == "attention_fwd_bwd" and gflops and ceiling else "",
        ]
        print("| " + " | ".join(cells) + " |")

    print_targets(points, torches[0] if torches else None)


def median_field(runs, field):
    """The median of one numeric field over a point's rounds; None when the point was not run."""
    return statistics.median(float(r[field]) for r in runs) if runs else None


def ratio(impls, torch):
    """Ember / torch for one point: the median over the rounds both ran of Ember's i-th time over
    torch's i-th; None when either is missing."""
    pairs = list(zip(impls.get("ember", []), impls.get(torch, [])))
    if not pairs:
        return None
    return statistics.median(float(e["seconds"]) / float(t["seconds"]) for e, t in pairs)


# (name, limit, filter on a point key (op, kind, causal, B, H, N, D)) for Ember/PyTorch time ratios.
RATIO_TARGETS = [
    ("non-causal softmax attention fwd+bwd, N = 512..4096", 0.8,
     lambda k: k[0] == "attention_fwd_bwd" and k[1] == "softmax" and k[2] == "0" and 512 <= int(k[5]) <= 4096),
    ("causal softmax attention fwd+bwd, N = 512..4096", 0.7,
     lambda k: k[0] == "attention_fwd_bwd" and k[1] == "softmax" and k[2] == "1" and 512 <= int(k[5]) <= 4096),
    ("greedy generation per token, both kinds, positions 64 and 16384", 0.5,
     lambda k: k[0] == "generate_token" and int(k[5]) in (64, 16384)),
    ("training step, small and seed sizes, both kinds", 0.6, lambda k: k[0].startswith("train_step")),
    ("causal linear attention fwd+bwd vs the chunked PyTorch formulation, N >= 1024", 0.25,
     lambda k: k[0] == "attention_fwd_bwd" and k[1] == "linear" and int(k[5]) >= 1024),
]


def print_targets(points, newest):
    if newest is None:
        return
    print(f"\n### Targets (Ember / {label(newest)}; worst point of each)\n")
    print("| target | limit | worst measured | points | met |")
    print("| --- | --- | --- | --- | --- |")
    for name, limit, selects in RATIO_TARGETS:
        ratios = [ratio(i, newest) for k, i in points.items() if selects(k) and "ember" in i and newest in i]
        if ratios:
            worst = max(ratios)
            print(f"| {name} | {limit} | {worst:.2f} | {len(ratios)} | {'yes' if worst <= limit else 'no'} |")
        else:
            print(f"| {name} | {limit} | not measured in this run | 0 | - |")
    per_token = {int(k[5]): median_field(i["ember"], "seconds") / int(k[5]) for k, i in points.items()
                 if k[0] == "attention_fwd_bwd" and k[1] == "linear" and "ember" in i}
    if 4096 in per_token and 65536 in per_token:
        growth = per_token[65536] / per_token[4096]
        print(f"| causal linear, N = 65536 vs 4096, Ember time per token | 1.15 | {growth:.2f} | 2 | "
              f"{'yes' if growth <= 1.15 else 'no'} |")
    else:
        print("| causal linear, N = 65536 vs 4096, Ember time per token | 1.15 | not measured in this run | 0 | - |")
    print("| 2-thread training step beside a busy process vs quiet | 2.5x | bench/contention.sh | - | - |")


if __name__ == "__main__":
    main(sys.argv[1])
