"""Writes tests/data/ops/rope.json, the Hugging Face LLaMA RoPE outputs that test Hanvit's rope op.

They come from transformers' LlamaRotaryEmbedding + apply_rotary_pos_emb in float32 on the CPU.

Usage: python scripts/make_rope_fixture.py  (needs torch, transformers, numpy)
"""

import json
import pathlib

import numpy as np
import torch
import transformers
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "ops" / "rope.json"

# (name, batch, heads, T, head_dim, theta, linear scaling factor or None, positions)
CASES = [
    ("default", 2, 3, 5, 8, 10000.0, None, [0, 1, 2, 7, 100]),
    ("llama3_theta", 1, 2, 4, 16, 500000.0, None, [5, 17, 130, 255]),
    ("linear_scaling", 1, 1, 3, 12, 10000.0, 4.0, [3, 400, 1023]),
]


def shortest(t):
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(str(v)) for v in t.flatten().numpy().astype(np.float32)]


def make_case(name, batch, heads, T, head_dim, theta, factor, positions, generator):
    rope_parameters = {"rope_type": "default", "rope_theta": theta}
    if factor is not None:
        rope_parameters = {"rope_type": "linear", "rope_theta": theta, "factor": factor}
    config = LlamaConfig(
        hidden_size=head_dim * heads,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=head_dim,
        max_position_embeddings=4096,
        rope_parameters=rope_parameters,
    )
    rotary = LlamaRotaryEmbedding(config)
    q = torch.randn(batch, heads, T, head_dim, generator=generator, dtype=torch.float32)  # (B, H, T, D)
    k = torch.randn(batch, heads, T, head_dim, generator=generator, dtype=torch.float32)
    position_ids = torch.tensor([positions] * batch, dtype=torch.long)  # (B, T)
    cos, sin = rotary(q, position_ids)
    q_embed, k_embed = apply_rotary_pos_emb(q, k, cos, sin)
    return {
        "name": name,
        "shape": [batch, heads, T, head_dim],
        "theta": theta,
        "position_scale": factor if factor is not None else 1.0,
        "positions": positions,
        "x": shortest(torch.cat([q, k], 0)),  # q then k along batch
        "expected": shortest(torch.cat([q_embed, k_embed], 0)),
    }


def main():
    generator = torch.Generator().manual_seed(20240611)
    cases = [make_case(*case, generator) for case in CASES]
    for case in cases:
        case["shape"][0] *= 2  # q and k stacked
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"transformers": transformers.__version__, "torch": torch.__version__})[:-1]
    body = ",\n  ".join(json.dumps(case) for case in cases)
    OUT.write_text(header + ',\n "cases": [\n  ' + body + "\n ]\n}\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
