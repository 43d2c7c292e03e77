"""PyTorch reference for bench_decoder: a LLaMA-style decoder's prefill and cached greedy decoding.

The same model as the benchmark (RMSNorm, RoPE, grouped projections q/k/v/o, SwiGLU MLP, untied LM
head, fresh N(0, 0.02) weights) written in plain torch, with a preallocated KV cache written in place.
Prefill: one pass over `--prefill` tokens (B=1) with logits for the last position only.
Decode: after a `--prompt`-token prefill (not timed), `--new` greedy steps of one token each.

Prints one line: `torch_prefill_ms=<best> torch_decode_ms=<best, all steps> torch_version=<v>`.
Run with Debian's python3-torch (/usr/bin/python3) at the same thread count as Hanvit. Its OpenMP
threads wait passively unless OMP_WAIT_POLICY says otherwise: spinning, they contend with OpenBLAS's own
threads and a 2-thread run of this model becomes up to 4x slower (its best setting is taken).
"""
import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads OpenMP

import torch  # noqa: E402


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate(x, cos, sin):  # x (B, H, T, Dh); cos/sin (T, Dh)
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Decoder(torch.nn.Module):
    def __init__(self, vocab, dim, layers, heads, hidden, max_length, theta=10000.0, eps=1e-6):
        super().__init__()
        self.heads, self.head_dim, self.eps = heads, dim // heads, eps
        linear = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.embed = torch.nn.Embedding(vocab, dim)
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            layer = torch.nn.Module()
            layer.norm1 = torch.nn.Parameter(torch.ones(dim))
            layer.q, layer.k, layer.v, layer.o = linear(dim, dim), linear(dim, dim), linear(dim, dim), linear(dim, dim)
            layer.norm2 = torch.nn.Parameter(torch.ones(dim))
            layer.gate, layer.up, layer.down = linear(dim, hidden), linear(dim, hidden), linear(hidden, dim)
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(dim))
        self.head = linear(dim, vocab)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        inv_freq = 1.0 / theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)
        angles = torch.outer(torch.arange(max_length, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()
        self.cache = [(torch.zeros(1, heads, max_length, self.head_dim), torch.zeros(1, heads, max_length, self.head_dim))
                      for _ in range(layers)]

    def forward(self, ids, start):  # ids (1, T) at positions start .. start+T-1 -> logits (1, V) of the last
        b, t = ids.shape
        end = start + t
        cos, sin = self.cos[start:end], self.sin[start:end]
        x = self.embed(ids)
        mask = None
        if t > 1:
            mask = torch.ones(t, end, dtype=torch.bool).triu(start + 1)
        split = lambda y: y.view(b, t, self.heads, self.head_dim).transpose(1, 2)
        for layer, (k_cache, v_cache) in zip(self.layers, self.cache):
            h = rms_norm(x, layer.norm1, self.eps)
            q = rotate(split(layer.q(h)), cos, sin)
            k_cache[:, :, start:end] = rotate(split(layer.k(h)), cos, sin)
            v_cache[:, :, start:end] = split(layer.v(h))
            scores = q @ k_cache[:, :, :end].transpose(-1, -2) * self.head_dim ** -0.5
            if mask is not None:
                scores = scores.masked_fill(mask, float("-inf"))
            a = torch.softmax(scores, dim=-1) @ v_cache[:, :, :end]
            x = x + layer.o(a.transpose(1, 2).reshape(b, t, -1))
            h = rms_norm(x, layer.norm2, self.eps)
            x = x + layer.down(torch.nn.functional.silu(layer.gate(h)) * layer.up(h))
        return self.head(rms_norm(x[:, -1], self.norm, self.eps))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--prefill", type=int, default=512)
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Decoder(a.vocab, a.dim, a.layers, a.heads, a.hidden, max(a.prefill, a.prompt + a.new)).eval()
    ids = torch.randint(0, a.vocab, (1, max(a.prefill, a.prompt)))
    best_prefill = best_decode = float("inf")
    with torch.inference_mode():
        for _ in range(a.reps + 1):
            start = time.perf_counter()
            model(ids[:, : a.prefill], 0)
            best_prefill = min(best_prefill, time.perf_counter() - start)
        for _ in range(a.reps + 1):
            token = model(ids[:, : a.prompt], 0).argmax(-1, keepdim=True)
            start = time.perf_counter()
            for step in range(a.new):
                token = model(token, a.prompt + step).argmax(-1, keepdim=True)
            best_decode = min(best_decode, time.perf_counter() - start)
    print(f"torch_prefill_ms={best_prefill * 1e3:.3f} torch_decode_ms={best_decode * 1e3:.3f} "
          f"torch_version={torch.__version__}")


if __name__ == "__main__":
    main()
