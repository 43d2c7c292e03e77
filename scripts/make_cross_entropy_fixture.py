"""Writes tests/data/ops/cross_entropy.json: PyTorch cross-entropy losses and logit gradients."""
# Usage: apt-get install -y python3-torch && /usr/bin/python3 scripts/make_cross_entropy_fixture.py
# Each case holds f32 logits (N, V) (flattened), i32 labels (N), ignore_index, label_smoothing,
# and torch.nn.functional.cross_entropy's mean loss and d(loss)/d(logits) computed in float64;
# tests/ops/test_ops_softmax.cpp checks ours against them.
import json
import pathlib

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "ops" / "cross_entropy.json"

# (name, N, V, labels, ignore_index, label_smoothing, logit scale)
CASES = [
    ("plain", 4, 7, [0, 6, 3, 3], -100, 0.0, 1.0),
    ("ignore_index_and_smoothing", 6, 5, [1, -100, 4, 0, -100, 2], -100, 0.1, 2.0),
    ("ignore_a_class_id", 5, 9, [3, 8, 3, 0, 5], 3, 0.25, 3.0),
    ("full_smoothing_large_logits", 3, 4, [2, 0, 1], -100, 1.0, 40.0),
]


def make_case(generator, name, n, v, labels, ignore_index, label_smoothing, scale):
    logits = (torch.randn(n, v, generator=generator) * scale).to(torch.float32)
    x = logits.to(torch.float64).requires_grad_(True)
    target = torch.tensor(labels, dtype=torch.int64)
    loss = F.cross_entropy(x, target, ignore_index=ignore_index, label_smoothing=label_smoothing)
    loss.backward()
    return {
        "name": name,
        "n": n,
        "v": v,
        "ignore_index": ignore_index,
        "label_smoothing": label_smoothing,
        "logits": [float(f) for f in logits.flatten()],
        "labels": labels,
        "loss": loss.item(),
        "grad": [float(g) for g in x.grad.flatten()],
    }


def main():
    generator = torch.Generator().manual_seed(20240607)
    cases = [make_case(generator, *case) for case in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join("  " + json.dumps(case) for case in cases)  # one case a line
    OUT.write_text(f'{{"torch_version": "{torch.__version__}", "cases": [\n{lines}\n]}}\n')
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
