"""PyTorch reference for bench_train: training steps of the demo's vision-language model, in plain torch.

The same network as Hanvit's demo model (apps/train/demo_setup.cpp), with the same parameters:
- a ViT tower (ViTModel layout): Conv2d patch embedding, class token, learned positions, pre-norm layers
  (LayerNorm, multi-head attention with biases, LayerNorm, tanh-GELU MLP), final LayerNorm, and the
  dense+tanh pooler, which the loss does not use (so it gets no gradient, as in Hanvit);
- a linear projector from the vision tokens to the text width;
- a LLaMA decoder (RMSNorm, RoPE, causal attention, SwiGLU MLP, no biases, LM head tied to the embedding);
- before every decoder layer a gated cross-attention block: RMSNorm, q from the text, k/v from the
  projected visual tokens, attention, o_proj, tanh(attn_gate) residual; RMSNorm, SwiGLU MLP,
  tanh(mlp_gate) residual (gates open at 1, as the demo starts).
A step: zero the gradients, next-token cross-entropy over ids (B, T) given pixels (B, 3, H, W), backward,
torch.optim.AdamW (weight decay on matrices only). Attention is written out (torch 1.13 has no SDPA).

Prints one line: `torch_ms_per_step=<median over reps> params=<all> trained=<with a gradient> torch_version=<v>`.
Run with Debian's python3-torch (/usr/bin/python3) at the same thread count as Hanvit. Its OpenMP threads
wait passively unless OMP_WAIT_POLICY says otherwise (see bench_decoder_torch.py: spinning, they contend
with OpenBLAS's own threads).
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads OpenMP

import torch  # noqa: E402

F = torch.nn.functional


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def attention(q, k, v, mask=None):  # q (B, H, T, Dh), k/v (B, H, S, Dh) -> (B, T, H*Dh)
    scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    return out.transpose(1, 2).flatten(2)


def rotate(x, cos, sin):  # x (B, H, T, Dh); cos/sin (T, Dh)
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


def linear(i, o, bias=False):
    layer = torch.nn.Linear(i, o, bias=bias)
    torch.nn.init.normal_(layer.weight, std=0.02)
    if bias:
        torch.nn.init.zeros_(layer.bias)
    return layer


class VisionLayer(torch.nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(dim, eps=eps)
        self.q, self.k, self.v, self.o = (linear(dim, dim, True) for _ in range(4))
        self.norm2 = torch.nn.LayerNorm(dim, eps=eps)
        self.fc1, self.fc2 = linear(dim, hidden, True), linear(hidden, dim, True)

    def forward(self, x):  # (B, S, C)
        split = lambda y: y.unflatten(-1, (self.heads, -1)).transpose(1, 2)
        h = self.norm1(x)
        x = x + self.o(attention(split(self.q(h)), split(self.k(h)), split(self.v(h))))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


class ViT(torch.nn.Module):
    def __init__(self, image, patch, dim, layers, heads, hidden, eps=1e-12):
        super().__init__()
        self.patches = torch.nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = torch.nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.positions = torch.nn.Parameter(0.02 * torch.randn(1, (image // patch) ** 2 + 1, dim))
        self.layers = torch.nn.ModuleList(VisionLayer(dim, heads, hidden, eps) for _ in range(layers))
        self.norm = torch.nn.LayerNorm(dim, eps=eps)
        self.pooler = linear(dim, dim, True)  # not in the loss: no gradient

    def forward(self, pixels):  # (B, 3, H, W) -> (B, S, C)
        x = self.patches(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.positions
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class SwiGLU(torch.nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate, self.up, self.down = linear(dim, hidden), linear(dim, hidden), linear(hidden, dim)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class GatedBlock(torch.nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.heads, self.eps = heads, eps
        self.norm_attn = torch.nn.Parameter(torch.ones(dim))
        self.q, self.k, self.v, self.o = (linear(dim, dim) for _ in range(4))
        self.attn_gate = torch.nn.Parameter(torch.ones(1))
        self.norm_mlp = torch.nn.Parameter(torch.ones(dim))
        self.mlp = SwiGLU(dim, hidden)
        self.mlp_gate = torch.nn.Parameter(torch.ones(1))

    def split(self, y):  # (B, T, C) -> (B, H, T, Dh)
        return y.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def project_visual(self, visual):  # (B, S, C) -> keys, values (B, H, S, Dh)
        return self.split(self.k(visual)), self.split(self.v(visual))

    def forward(self, x, k, v):
        q = self.split(self.q(rms_norm(x, self.norm_attn, self.eps)))
        h = x + torch.tanh(self.attn_gate) * self.o(attention(q, k, v))
        return h + torch.tanh(self.mlp_gate) * self.mlp(rms_norm(h, self.norm_mlp, self.eps))


class DecoderLayer(torch.nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.heads, self.eps = heads, eps
        self.norm1 = torch.nn.Parameter(torch.ones(dim))
        self.q, self.k, self.v, self.o = (linear(dim, dim) for _ in range(4))
        self.norm2 = torch.nn.Parameter(torch.ones(dim))
        self.mlp = SwiGLU(dim, hidden)

    def forward(self, x, cos, sin, mask):
        split = lambda y: y.unflatten(-1, (self.heads, -1)).transpose(1, 2)
        h = rms_norm(x, self.norm1, self.eps)
        q, k = rotate(split(self.q(h)), cos, sin), rotate(split(self.k(h)), cos, sin)
        x = x + self.o(attention(q, k, split(self.v(h)), mask))
        return x + self.mlp(rms_norm(x, self.norm2, self.eps))


class VisionLanguageModel(torch.nn.Module):
    def __init__(self, a, theta=10000.0, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.vision = ViT(a.image, a.patch, a.dim, a.layers, a.heads, a.hidden)
        self.projector = linear(a.dim, a.dim, True)
        self.blocks = torch.nn.ModuleList(GatedBlock(a.dim, a.heads, a.hidden, eps) for _ in range(a.layers))
        self.embed = torch.nn.Embedding(a.vocab, a.dim)
        torch.nn.init.normal_(self.embed.weight, std=0.02)
        self.layers = torch.nn.ModuleList(DecoderLayer(a.dim, a.heads, a.hidden, eps) for _ in range(a.layers))
        self.norm = torch.nn.Parameter(torch.ones(a.dim))
        head_dim = a.dim // a.heads
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(a.tokens, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()
        self.mask = torch.ones(a.tokens, a.tokens, dtype=torch.bool).triu(1)

    def forward(self, pixels, ids, targets):  # mean next-token cross-entropy over the targets
        visual = self.projector(self.vision(pixels))  # (B, S, C)
        x = self.embed(ids)  # (B, T, C)
        for block, layer in zip(self.blocks, self.layers):
            x = block(x, *block.project_visual(visual))
            x = layer(x, self.cos, self.sin, self.mask)
        logits = F.linear(rms_norm(x, self.norm, self.eps), self.embed.weight)  # tied head: (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1), targets, ignore_index=-100)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--tokens", type=int, default=24)
    p.add_argument("--image", type=int, default=63)
    p.add_argument("--patch", type=int, default=21)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--vocab", type=int, default=352)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = VisionLanguageModel(a)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW([{"params": [q for q in params if q.dim() > 1], "weight_decay": a.weight_decay},
                                   {"params": [q for q in params if q.dim() <= 1], "weight_decay": 0.0}], lr=a.lr)
    pixels = torch.rand(a.batch, 3, a.image, a.image) * 2 - 1
    ids = torch.randint(0, a.vocab, (a.batch, a.tokens))
    targets = torch.full((a.batch, a.tokens), -100, dtype=torch.long)
    targets[:, :-1] = ids[:, 1:]  # position t predicts the token at t + 1
    targets = targets.flatten()

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(pixels, ids, targets).backward()
        optimizer.step()

    for _ in range(a.warmup):
        step()
    per_step = []
    for _ in range(a.reps):
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        per_step.append((time.perf_counter() - start) / a.steps)
    trained = sum(q.numel() for q in params if q.grad is not None)
    print(f"torch_ms_per_step={statistics.median(per_step) * 1e3:.3f} params={sum(q.numel() for q in params)} "
          f"trained={trained} torch_version={torch.__version__}")


if __name__ == "__main__":
    main()
