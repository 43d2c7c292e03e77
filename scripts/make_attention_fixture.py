"""Writes tests/data/ops/attention.json: PyTorch attention outputs and q/k/v gradients."""
# Usage: apt-get install -y python3-torch && /usr/bin/python3 scripts/make_attention_fixture.py
# Each case holds f32 q (B, Hq, Tq, D), k (B, Hk, Tk, D), v (B, Hk, Tk, Dv), an optional u8 key
# mask (B, Tk) (1 = attend), dout (B, Hq, Tq, Dv), causal and scale, and PyTorch's output and the
# gradients of sum(out * dout) computed in float64. Our causal rule aligns the last query with the
# last key (query i sees key j iff j <= i + Tk - Tq), which is not torch's is_causal (top-left)
# when Tq != Tk, so the mask handed to torch is an explicit boolean attn_mask that encodes it plus
# the key padding. Grouped-query heads are expanded with repeat_interleave (autograd sums their
# gradients back). torch >= 2.0 runs scaled_dot_product_attention; torch 1.13 (Debian) lacks it
# and runs the same maths written out: softmax(q k^T * scale + mask) v.
# tests/ops/test_ops_attention.cpp checks ours against them.
import json
import math
import pathlib

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "ops" / "attention.json"

# (name, B, Hq, Hk, Tq, Tk, D, Dv, causal, scale, key mask or None). Every query row must see at
# least one key: torch gives NaN rows where ours gives zeros (covered by the C++ tests).
CASES = [
    ("self_causal", 1, 2, 2, 5, 5, 4, 4, True, 0.5, None),
    ("self_padding", 1, 2, 2, 5, 5, 4, 4, False, 0.5, [[1, 1, 0, 1, 0]]),
    ("gqa_cross_causal_padding", 2, 2, 1, 5, 7, 4, 3, True, 0.4, [[1, 1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1, 0]]),
    ("cross_noncausal_scale", 1, 2, 2, 3, 6, 4, 4, False, 1.3, None),
]


def allowed(b, tq, tk, key_mask, causal):
    """(B, 1, Tq, Tk) bool, True where a query may attend a key."""
    allow = torch.ones(b, 1, tq, tk, dtype=torch.bool)
    if key_mask is not None:
        allow = allow & key_mask.bool()[:, None, None, :]
    if causal:
        i = torch.arange(tq)[:, None]
        j = torch.arange(tk)[None, :]
        allow = allow & (j <= i + (tk - tq))
    return allow


def attend(q, k, v, allow, scale):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    if hasattr(F, "scaled_dot_product_attention"):
        # Its default scale is 1/sqrt(D): fold ours into q.
        return F.scaled_dot_product_attention(q * (scale * math.sqrt(q.shape[-1])), k, v, attn_mask=allow)
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~allow, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(x) for x in t.flatten()]}


def make_case(generator, name, b, hq, hk, tq, tk, d, dv, causal, scale, mask):
    inputs = [torch.randn(*shape, generator=generator).to(torch.float32)
              for shape in ((b, hq, tq, d), (b, hk, tk, d), (b, hk, tk, dv), (b, hq, tq, dv))]
    q, k, v, dout = (x.to(torch.float64) for x in inputs)
    q.requires_grad_(True)
    k.requires_grad_(True)
    v.requires_grad_(True)
    key_mask = torch.tensor(mask, dtype=torch.uint8) if mask is not None else None
    out = attend(q, k, v, allowed(b, tq, tk, key_mask, causal), scale)
    assert torch.isfinite(out).all(), f"{name}: a query row sees no key"
    (out * dout).sum().backward()
    return {
        "name": name,
        "causal": causal,
        "scale": scale,
        "q": tensor_json(inputs[0]),
        "k": tensor_json(inputs[1]),
        "v": tensor_json(inputs[2]),
        "key_mask": tensor_json(key_mask) if key_mask is not None else None,
        "dout": tensor_json(inputs[3]),
        "out": tensor_json(out.detach()),
        "dq": tensor_json(q.grad),
        "dk": tensor_json(k.grad),
        "dv": tensor_json(v.grad),
    }


def main():
    generator = torch.Generator().manual_seed(20240611)
    cases = [make_case(generator, *case) for case in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join("  " + json.dumps(case) for case in cases)  # one case a line
    OUT.write_text(f'{{"torch_version": "{torch.__version__}", "cases": [\n{lines}\n]}}\n')
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
