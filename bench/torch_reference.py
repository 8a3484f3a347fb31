#!/usr/bin/env python3
"""PyTorch side of Ember's benchmarks: the same subcommands, shapes, semantics and CSV columns as
ember_bench, so bench/compare.sh can take ratios from one interleaved run. The impl column names the
version, "torch<major>.<minor>" (torch2.15, torch1.13), as compare.sh runs two: a current PyTorch 2.x
from PyPI (.venv-bench/, set up by `scripts/install-deps.sh --bench`) and Debian's python3-torch 1.13.

Softmax attention is PyTorch's F.scaled_dot_product_attention where it exists (>= 2.0: the
reference; the training step's nn.MultiheadAttention calls it too); PyTorch 1.13 has none, so there
it is the standard unfused formula (three GEMMs and a softmax). stderr and the `about` subcommand
say which. Causal linear attention is the same chunked algorithm as Ember's kernel written in torch
ops (the naive prefix-sum form would need N x D x M memory).
  .venv-bench/bin/python bench/torch_reference.py attention --kind softmax --causal --n 512
  /usr/bin/python3 bench/torch_reference.py attention --kind linear
  .venv-bench/bin/python bench/torch_reference.py about
"""
import argparse
import math
import os
import re
import resource
import statistics
import sys
import time
import warnings

# The PyPI wheel warns at import when NumPy is absent; .venv-bench leaves it out (nothing here uses it).
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch
import torch.nn.functional as F

HEADER = "impl,op,kind,causal,B,H,N,D,seconds,peak_rss_bytes,gflops"
IMPL = "torch" + ".".join(torch.__version__.split(".")[:2])  # "2.15.0+cu132" -> torch2.15
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
SOFTMAX_PATH = "F.scaled_dot_product_attention" if HAS_SDPA else "unfused (QK^T, masked_fill, softmax, @V)"


def median_seconds(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(op, kind, causal, B, H, N, D, seconds, flops):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{IMPL},{op},{kind},{int(causal)},{B},{H},{N},{D},{seconds:.6g},{rss},{flops / seconds / 1e9:.4g}",
          flush=True)


def causal_linear_chunked(q, k, v, eps=1e-6, chunk=64):
    """out_i = sum_{j<=i} (q_i.k_j) v_j / (q_i . sum_{j<=i} k_j + eps), chunk by chunk."""
    B, H, N, D = q.shape
    ones = torch.ones(B, H, N, 1, dtype=v.dtype, device=v.device)
    va = torch.cat([v, ones], dim=-1)  # the denominator rides along as a column of ones
    state = torch.zeros(B, H, D, va.shape[-1], dtype=v.dtype, device=v.device)
    outs = []
    for s in range(0, N, chunk):
        qc, kc, vc = q[:, :, s:s + chunk], k[:, :, s:s + chunk], va[:, :, s:s + chunk]
        scores = torch.tril(qc @ kc.transpose(-1, -2))
        num = qc @ state + scores @ vc
        outs.append(num[..., :-1] / (num[..., -1:] + eps))
        state = state + kc.transpose(-1, -2) @ vc
    return torch.cat(outs, dim=2)


def attention(kind, causal, q, k, v):
    if kind == "softmax" and HAS_SDPA:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # PyTorch >= 2.0: fused
    if kind == "linear":
        if causal:
            return causal_linear_chunked(q, k, v)
        state = k.transpose(-1, -2) @ v
        z = k.sum(dim=2).unsqueeze(-1)
        return (q @ state) / (q @ z + 1e-6)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal:
        n = q.shape[2]
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool, device=q.device), 1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def cmd_attention(a):
    """--device cuda synchronises after each step; --precision bf16 runs the forward under
    bfloat16 autocast and reports the kind as "<kind>-bf16", like ember_bench."""
    torch.manual_seed(0)
    bf16 = a.precision == "bf16"
    for N in a.n:
        shape = (a.batch, a.heads, N, a.dim)
        q = (torch.rand(shape) + 0.1).to(a.device).requires_grad_()
        k = (torch.rand(shape) + 0.1).to(a.device).requires_grad_()
        v = torch.randn(shape).to(a.device).requires_grad_()
        g = torch.randn(shape).to(a.device)

        def step():
            with torch.autocast(a.device, dtype=torch.bfloat16, enabled=bf16):
                out = attention(a.kind, a.causal, q, k, v)
            out.backward(g.to(out.dtype))
            q.grad = k.grad = v.grad = None
            if a.device == "cuda":
                torch.cuda.synchronize()

        bhn = a.batch * a.heads * N
        flops = 12.0 * bhn * a.dim * a.dim if a.kind == "linear" else 12.0 * bhn * N * a.dim * (0.5 if a.causal else 1.0)
        row("attention_fwd_bwd", a.kind + ("-bf16" if bf16 else ""), a.causal, a.batch, a.heads, N, a.dim,
            median_seconds(step, a.warmup, a.repeats), flops)


def cmd_gemm(a):
    torch.manual_seed(0)
    for shape in a.shapes:
        M, N, K = (int(x) for x in shape.split("x"))
        x, y = torch.randn(M, K), torch.randn(K, N)
        row("sgemm", shape, False, 0, 0, 0, 0, median_seconds(lambda: x @ y, a.warmup, a.repeats), 2.0 * M * N * K)


class LinearAttention(torch.nn.Module):
    """Multi-head linear attention with phi(x) = elu(x) + 1, like Ember's MultiHeadAttention."""

    def __init__(self, d, heads, causal):
        super().__init__()
        self.h, self.causal = heads, causal
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))

    def forward(self, x, memory=None):
        memory = x if memory is None else memory
        B, N, d = x.shape
        split = lambda t: t.reshape(B, t.shape[1], self.h, d // self.h).transpose(1, 2)
        q, k, v = F.elu(split(self.q(x))) + 1, F.elu(split(self.k(memory))) + 1, split(self.v(memory))
        out = attention("linear", self.causal, q, k, v)
        return self.o(out.transpose(1, 2).reshape(B, N, d))


class Block(torch.nn.Module):
    """Post-norm Transformer layer: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, d, heads, d_ff, kind, causal, cross):
        super().__init__()
        make = (lambda c: LinearAttention(d, heads, c)) if kind == "linear" else \
            (lambda c: torch.nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True))
        self.kind, self.causal = kind, causal
        self.self_attn = make(causal)
        self.cross_attn = make(False) if cross else None
        self.ff = torch.nn.Sequential(torch.nn.Linear(d, d_ff), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(d_ff, d))
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(d) for _ in range(3))
        self.drop = torch.nn.Dropout(0.1)

    def attend(self, attn, x, memory, causal):
        if self.kind == "linear":
            return attn(x, memory)
        mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1) if causal else None
        memory = x if memory is None else memory
        return attn(x, memory, memory, attn_mask=mask, need_weights=False)[0]

    def forward(self, x, memory=None):
        x = self.norms[0](x + self.drop(self.attend(self.self_attn, x, None, self.causal)))
        if self.cross_attn is not None:
            x = self.norms[2](x + self.drop(self.attend(self.cross_attn, x, memory, False)))
        return self.norms[1](x + self.drop(self.ff(x)))


def cmd_train(a):
    torch.manual_seed(0)
    d_ff = a.d_ff or 4 * a.d_model
    for N in a.n:
        embed = torch.nn.Embedding(11, a.d_model)
        head = torch.nn.Linear(a.d_model, 11)
        dec = torch.nn.ModuleList(Block(a.d_model, a.heads, d_ff, a.kind, True, a.protocol == "seed") for _ in range(a.layers))
        enc = torch.nn.ModuleList(Block(a.d_model, a.heads, d_ff, a.kind, False, False) for _ in range(a.layers)) \
            if a.protocol == "seed" else torch.nn.ModuleList()
        params = [p for m in (embed, head, dec, enc) for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=1e-4)
        pos = torch.randn(N + 1, a.d_model) * 0.1  # stands in for the sinusoidal table (a constant)
        src, tgt = torch.randint(1, 11, (a.batch, N)), torch.randint(0, 11, (a.batch, N + 1))

        def step():
            memory = None
            if a.protocol == "seed":
                memory = embed(src) * math.sqrt(a.d_model) + pos[:N]
                for layer in enc:
                    memory = layer(memory)
            x = embed(tgt[:, :N]) * math.sqrt(a.d_model) + pos[:N]
            for layer in dec:
                x = layer(x, memory)
            loss = F.cross_entropy(head(x).reshape(-1, 11), tgt[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

        row("train_step_" + a.protocol, a.kind, True, a.batch, a.heads, N, a.d_model, median_seconds(step, a.warmup, a.repeats), 0)


def cmd_generate(a):
    torch.manual_seed(0)
    d, H = a.d_model, a.heads
    Dh = d // H
    q_proj, k_proj, v_proj, o_proj = (torch.nn.Linear(d, d) for _ in range(4))
    with torch.no_grad():
        for position in a.positions:
            x = torch.randn(1, 1, d)
            split = lambda t: t.reshape(1, 1, H, Dh).transpose(1, 2)
            if a.kind == "softmax":
                capacity = position + (a.warmup + a.repeats + 1) * a.tokens
                keys, values = torch.randn(1, H, capacity, Dh), torch.randn(1, H, capacity, Dh)
                length = [position]

                def token():
                    q, k, v = split(q_proj(x)), split(k_proj(x)), split(v_proj(x))
                    n = length[0]
                    keys[:, :, n:n + 1] = k
                    values[:, :, n:n + 1] = v
                    length[0] = n + 1
                    w = torch.softmax(q @ keys[:, :, :n + 1].transpose(-1, -2) / math.sqrt(Dh), dim=-1)
                    return o_proj((w @ values[:, :, :n + 1]).transpose(1, 2).reshape(1, 1, d))
            else:
                state, norm = torch.rand(1, H, Dh, Dh), torch.rand(1, H, Dh, 1) * position

                def token():
                    q, k, v = F.elu(split(q_proj(x))) + 1, F.elu(split(k_proj(x))) + 1, split(v_proj(x))
                    state.add_(k.transpose(-1, -2) @ v)
                    norm.add_(k.transpose(-1, -2))
                    out = (q @ state) / (q @ norm + 1e-6)
                    return o_proj(out.transpose(1, 2).reshape(1, 1, d))

            seconds = median_seconds(lambda: [token() for _ in range(a.tokens)], a.warmup, a.repeats) / a.tokens
            row("generate_token", a.kind, True, 1, H, position, d, seconds, 0)


def cmd_about(a):
    """One markdown-ready line for a results header: version, impl label, interpreter, softmax path, BLAS."""
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    blas = blas.group(1) if blas else "?"
    if blas == "generic":  # Debian's build links libblas.so.3, whichever the alternatives select
        mapped = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libblas" in line})
        blas = ", ".join(os.path.realpath(m) for m in mapped) or blas
    print(f"PyTorch {torch.__version__} (impl {IMPL}, {sys.executable}): softmax attention {SOFTMAX_PATH}; "
          f"BLAS {blas}; oneDNN {torch.backends.mkldnn.is_available()}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ints = lambda s: [int(x) for x in s.split(",")]

    def common(sp):
        sp.add_argument("--warmup", type=int, default=1)
        sp.add_argument("--repeats", type=int, default=3)
        sp.add_argument("--threads", type=int, default=0)
        sp.add_argument("--no-header", action="store_true")

    s = sub.add_parser("attention"); common(s)
    s.add_argument("--kind", default="linear", choices=["softmax", "softmax_unfused", "linear"])
    s.add_argument("--causal", action="store_true")
    s.add_argument("--n", type=ints, default=[1024, 4096])
    s.add_argument("--batch", type=int, default=1); s.add_argument("--heads", type=int, default=8)
    s.add_argument("--dim", type=int, default=64)
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    s.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    s = sub.add_parser("gemm"); common(s)
    s.add_argument("--shapes", type=lambda x: x.split(","), default=["512x512x512", "1024x1024x1024", "4096x64x64", "64x64x4096"])
    s = sub.add_parser("train"); common(s)
    s.add_argument("--protocol", default="paper", choices=["paper", "seed"])
    s.add_argument("--kind", default="softmax", choices=["softmax", "linear"])
    s.add_argument("--d-model", type=int, default=128); s.add_argument("--layers", type=int, default=2)
    s.add_argument("--heads", type=int, default=8); s.add_argument("--d-ff", type=int, default=0)
    s.add_argument("--batch", type=int, default=16); s.add_argument("--n", type=ints, default=[32])
    s = sub.add_parser("generate"); common(s)
    s.add_argument("--kind", default="linear", choices=["softmax", "linear"])
    s.add_argument("--d-model", type=int, default=512); s.add_argument("--heads", type=int, default=8)
    s.add_argument("--tokens", type=int, default=16)
    s.add_argument("--positions", type=ints, default=[64, 1024, 16384, 65536])
    sub.add_parser("about", help="print the version, the impl label and the softmax attention path")
    a = p.parse_args()
    if a.command == "about":
        return cmd_about(a)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    print(f"{IMPL} threads: {torch.get_num_threads()}; --kind softmax: {SOFTMAX_PATH}", file=sys.stderr)
    if not a.no_header:
        print(HEADER)
    {"attention": cmd_attention, "gemm": cmd_gemm, "train": cmd_train, "generate": cmd_generate}[a.command](a)


if __name__ == "__main__":
    main()
