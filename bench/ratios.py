#!/usr/bin/env python3
"""Reads a raw.csv written by bench/compare.sh (or bench/gpu.sh) and prints a markdown table: each
benchmark point with Ember's seconds and each PyTorch's, the ratios Ember/PyTorch side by side
(below 1: Ember is faster), and for attention the fraction of the best SGEMM rate measured in the
same run.

The PyTorch columns are the impl values other than "ember", newest version first: "torch2.15",
"torch1.13" (bench/torch_reference.py names its version), or "torch" in runs made before it did
(PyTorch 1.13 on the CPU: see bench/results/README.md)."""
import csv
import re
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
    points = {}
    for r in rows:
        points.setdefault(key(r), {})[r["impl"]] = r
    torches = sorted({r["impl"] for r in rows if r["impl"] != "ember"}, key=version, reverse=True)
    print(f"SGEMM ceiling (best Ember sgemm in this run): {ceiling:.1f} GFLOP/s\n")
    columns = ["op", "kind", "causal", "B", "H", "N", "D", "Ember s"] + [f"{label(t)} s" for t in torches] + \
        [f"Ember/{label(t)}" for t in torches] + ["Ember GFLOP/s", "of SGEMM"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    seconds = lambda r: float(r["seconds"]) if r else None
    for k, impls in points.items():
        e = impls.get("ember")
        es = seconds(e)
        ts = [seconds(impls.get(t)) for t in torches]
        gflops = float(e["gflops"]) if e else 0.0
        cells = list(k) + [f"{es:.4g}" if es is not None else "-"] + \
            [f"{s:.4g}" if s is not None else "-" for s in ts] + \
            [f"{es / s:.2f}" if es and s else "-" for s in ts] + [
            f"{gflops:.3g}" if gflops else "",
            f"{gflops / ceiling:.0%}" if k[0] == "attention_fwd_bwd" and gflops and ceiling else "",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
