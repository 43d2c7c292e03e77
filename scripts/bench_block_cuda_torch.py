"""PyTorch GPU reference for bench_cuda_block: one pre-norm transformer block's training step.

The block matches bench_cuda_block's: LayerNorm, causal multi-head attention through
F.scaled_dot_product_attention, GELU (tanh) MLP 4x, loss = (out * w).sum(), backward; parameters
and activations in --dtype. Times eager and torch.compile (default mode) with CUDA events
(median of --reps steps after --warmup steps) and prints parseable lines:
  torch_version=<v> device=<name>
  torch_eager_ms=<ms> torch_eager_peak_MiB=<MiB>
  torch_compile_ms=<ms>   or   torch_compile_ms=unavailable reason=<one line>
f32 matmuls stay in full precision (no TF32), as in Hanvit's CUDA backend by default.
"""
import argparse
import statistics

import torch
import torch.nn.functional as F


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

    def forward(self, x):  # x (B, T, C)
        b, t, c = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(b, t, self.heads, c // self.heads).transpose(1, 2)  # (B, H, T, D)
        a = F.scaled_dot_product_attention(split(self.q(h)), split(self.k(h)), split(self.v(h)), is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


def median_ms(step, warmup, reps):
    """Median milliseconds of step() between two CUDA events, after `warmup` untimed steps."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def training_step(model, x, w):
    def step():
        model.zero_grad(set_to_none=True)
        loss = (model(x) * w).sum()
        loss.backward()

    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    a = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_block_cuda_torch: PyTorch sees no CUDA device")
    if a.dim % a.heads != 0:
        raise SystemExit(f"bench_block_cuda_torch: dim {a.dim} is not divisible by heads {a.heads}")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    device = torch.device("cuda")
    torch.manual_seed(0)
    model = Block(a.dim, a.heads).to(device=device, dtype=dtype)
    x = torch.randn(a.batch, a.seq, a.dim, device=device, dtype=dtype)
    w = torch.randn(a.batch, a.seq, a.dim, device=device, dtype=dtype)
    print(f"torch_version={torch.__version__} device={torch.cuda.get_device_name().replace(' ', '_')}", flush=True)

    torch.cuda.reset_peak_memory_stats()
    eager_ms = median_ms(training_step(model, x, w), a.warmup, a.reps)
    peak_mib = torch.cuda.max_memory_allocated() / 2**20
    print(f"torch_eager_ms={eager_ms:.3f} torch_eager_peak_MiB={peak_mib:.1f}", flush=True)

    if a.no_compile:
        print("torch_compile_ms=unavailable reason=disabled by --no-compile", flush=True)
        return
    try:
        compiled = torch.compile(model)
        compile_ms = median_ms(training_step(compiled, x, w), a.warmup, a.reps)
        print(f"torch_compile_ms={compile_ms:.3f}", flush=True)
    except Exception as e:  # torch.compile needs Triton and a working C compiler: report, do not fail
        reason = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        print(f"torch_compile_ms=unavailable reason={reason}", flush=True)


if __name__ == "__main__":
    main()
