"""PyTorch reference for bench_block: a pre-norm transformer block's forward + backward time.

Prints one line: `torch_ms=<best forward+backward milliseconds> torch_version=<v>`.
Run with Debian's python3-torch (/usr/bin/python3) at the same thread count as Hanvit.
"""
import argparse
import math
import time

import torch


class Block(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(dim)
        self.q = torch.nn.Linear(dim, dim)
        self.k = torch.nn.Linear(dim, dim)
        self.v = torch.nn.Linear(dim, dim)
        self.o = torch.nn.Linear(dim, dim)
        self.ln2 = torch.nn.LayerNorm(dim)
        self.fc1 = torch.nn.Linear(dim, 4 * dim)
        self.fc2 = torch.nn.Linear(4 * dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = q @ k.transpose(-1, -2) / math.sqrt(c // self.heads)
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            a = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    block = Block(a.dim, a.heads)
    x = torch.randn(a.batch, a.seq, a.dim)
    w = torch.randn(a.batch, a.seq, a.dim)
    best = float("inf")
    for _ in range(a.reps + 1):
        block.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss = (block(x) * w).sum()
        loss.backward()
        best = min(best, time.perf_counter() - start)
    print(f"torch_ms={best * 1e3:.3f} torch_version={torch.__version__}")


if __name__ == "__main__":
    main()
