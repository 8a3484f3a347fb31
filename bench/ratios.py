#!/usr/bin/env python3
"""Reads a raw.csv written by bench/compare.sh and prints a markdown table: each benchmark point
with Ember's and PyTorch's seconds, the ratio Ember/PyTorch (below 1: Ember is faster), and for
attention the fraction of the best SGEMM rate measured in the same run."""
import csv
import sys


def main(path):
    rows = list(csv.DictReader(open(path)))
    ceiling = max((float(r["gflops"]) for r in rows if r["op"] == "sgemm" and r["impl"] == "ember"), default=0.0)
    key = lambda r: (r["op"], r["kind"].replace("softmax_unfused", "softmax"), r["causal"], r["B"], r["H"], r["N"], r["D"])
    points = {}
    for r in rows:
        points.setdefault(key(r), {})[r["impl"]] = r
    print(f"SGEMM ceiling (best Ember sgemm in this run): {ceiling:.1f} GFLOP/s\n")
    print("| op | kind | causal | B | H | N | D | Ember s | PyTorch s | Ember/PyTorch | Ember GFLOP/s | of SGEMM |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k, impls in points.items():
        e, t = impls.get("ember"), impls.get("torch")
        es = float(e["seconds"]) if e else None
        ts = float(t["seconds"]) if t else None
        gflops = float(e["gflops"]) if e else 0.0
        cells = list(k) + [
            f"{es:.4g}" if es is not None else "-",
            f"{ts:.4g}" if ts is not None else "-",
            f"{es / ts:.2f}" if es and ts else "-",
            f"{gflops:.3g}" if gflops else "",
            f"{gflops / ceiling:.0%}" if k[0] == "attention_fwd_bwd" and gflops and ceiling else "",
        ]
        print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main(sys.argv[1])
