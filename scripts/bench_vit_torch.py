"""PyTorch reference for bench_vit: a ViT image encoder's forward time, written in plain torch.

The same network as Hanvit's ViT tower (ViTModel layout): Conv2d patch embedding, class token and
learned positions, pre-norm layers (LayerNorm, multi-head attention, LayerNorm, GELU MLP), final
LayerNorm and the dense+tanh pooler on the class token. Inference: no gradients.
Prints one line: `torch_ms=<best forward milliseconds> torch_version=<v>`.
Run with Debian's python3-torch (/usr/bin/python3) at the same thread count as Hanvit.
"""
import argparse
import math
import time

import torch


class Layer(torch.nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(dim, eps=eps)
        self.q = torch.nn.Linear(dim, dim)
        self.k = torch.nn.Linear(dim, dim)
        self.v = torch.nn.Linear(dim, dim)
        self.o = torch.nn.Linear(dim, dim)
        self.norm2 = torch.nn.LayerNorm(dim, eps=eps)
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.fc2 = torch.nn.Linear(hidden, dim)

    def forward(self, x):
        b, t, c = x.shape
        h = self.norm1(x)
        split = lambda y: y.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        else:
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


class ViT(torch.nn.Module):
    def __init__(self, image, patch, dim, layers, heads, hidden, eps=1e-12):
        super().__init__()
        self.patches = torch.nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = torch.nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.positions = torch.nn.Parameter(0.02 * torch.randn(1, (image // patch) ** 2 + 1, dim))
        self.layers = torch.nn.ModuleList(Layer(dim, heads, hidden, eps) for _ in range(layers))
        self.norm = torch.nn.LayerNorm(dim, eps=eps)
        self.pooler = torch.nn.Linear(dim, dim)

    def forward(self, pixels):
        x = self.patches(pixels).flatten(2).transpose(1, 2)  # (B, N, C)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.positions
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        return x, torch.tanh(self.pooler(x[:, 0]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--image", type=int, default=224)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--hidden", type=int, default=3072)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ViT(a.image, a.patch, a.dim, a.layers, a.heads, a.hidden).eval()
    pixels = torch.randn(a.batch, 3, a.image, a.image)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(a.reps + 1):
            start = time.perf_counter()
            model(pixels)
            best = min(best, time.perf_counter() - start)
    print(f"torch_ms={best * 1e3:.3f} torch_version={torch.__version__}")


if __name__ == "__main__":
    main()
