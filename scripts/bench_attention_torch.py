"""PyTorch attention timings for bench/bench_attention.cpp, which runs this in the same session."""
# Usage: /usr/bin/python3 scripts/bench_attention_torch.py --threads 2 --batch 1 --heads 8 --dim 64
#            --lengths 256 1024 4096 [--reps 3]
# For every length and causal in (0, 1), prints one line
#   torch T=<len> causal=<0|1> fwd_ms=<best forward> fwdbwd_ms=<best forward + backward>
# (best of at least --reps runs and 0.5 s after a warm-up), f32 on the CPU with torch.set_num_threads(--threads).
# torch >= 2.0 runs scaled_dot_product_attention (is_causal: Tq == Tk here, so its top-left causal
# rule equals our bottom-right one); torch 1.13 (Debian) lacks it and runs the materialised maths
# softmax(q k^T * scale + mask) v, which is what its SDPA math backend does. The first line says
# which: "torch version=<v> impl=<sdpa|math>".
import argparse
import math
import time

import torch
import torch.nn.functional as F


def attention(q, k, v, causal, mask):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def best_ms(fn, reps):
    """Best time after a warm-up, over at least `reps` runs and at least half a second of runs."""
    fn()
    best, total, runs = math.inf, 0.0, 0
    while runs < reps or (total < 0.5 and runs < 1000):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, total, runs = min(best, elapsed), total + elapsed, runs + 1
    return best * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    impl = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "math"
    print(f"torch version={torch.__version__} impl={impl}", flush=True)
    generator = torch.Generator().manual_seed(0)
    for t in args.lengths:
        shape = (args.batch, args.heads, t, args.dim)
        q, k, v, dout = (torch.randn(*shape, generator=generator) for _ in range(4))
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # True above the diagonal: hidden
        for causal in (False, True):
            with torch.no_grad():
                fwd = best_ms(lambda: attention(q, k, v, causal, mask), args.reps)
            qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))

            def step():
                out = attention(qg, kg, vg, causal, mask)
                torch.autograd.grad(out, (qg, kg, vg), dout)

            fwdbwd = best_ms(step, args.reps)
            print(f"torch T={t} causal={int(causal)} fwd_ms={fwd:.4f} fwdbwd_ms={fwdbwd:.4f}", flush=True)


if __name__ == "__main__":
    main()
