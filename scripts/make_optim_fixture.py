"""Writes tests/data/optim/*.json: runs of torch.optim.AdamW and torch.optim.SGD (float32, CPU)
with torch.nn.utils.clip_grad_norm_ and transformers' warmup + decay LambdaLR schedules, and the
schedule factors themselves, the reference for Hanvit's modules/optim.

Usage: python scripts/make_optim_fixture.py  (needs torch, transformers, numpy)
"""

import json
import pathlib

import numpy as np
import torch
import transformers
from transformers import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "optim"

# (name, shape): a decayed weight, a bias, a norm weight (1-D) and a 2-D "ln_" weight that the
# name rule alone keeps out of weight decay.
PARAMS = [
    ("enc.fc.weight", (4, 5)),
    ("enc.fc.bias", (5,)),
    ("enc.norm.weight", (5,)),
    ("enc.ln_f.weight", (2, 3)),
    ("head.weight", (3, 4)),
]
# Per-step grad scales: steps with a large global norm are clipped, the small ones are not.
GRAD_SCALES = [3.0, 0.05, 1.0, 0.02, 2.0]
MAX_NORM = 1.0

# (file, optimizer, its options, weight decay of the decayed group, schedule, its options)
RUNS = [
    ("adamw", "AdamW", {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 0.1,
     "cosine", {"warmup_steps": 2, "total_steps": 5, "min_ratio": 0.1}),
    ("sgd", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": False}, 0.01,
     "cosine", {"warmup_steps": 1, "total_steps": 5, "min_ratio": 0.0}),
    ("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, 0.01,
     "linear", {"warmup_steps": 1, "total_steps": 6, "min_ratio": 0.0}),
]

# Schedule factor tables: (kind, warmup_steps, total_steps, min_ratio); factors for steps 0..total.
SCHEDULES = [
    ("constant", 3, 20, 0.0),
    ("linear", 3, 20, 0.0),
    ("cosine", 3, 20, 0.0),
    ("cosine", 3, 20, 0.1),
    ("cosine", 0, 7, 0.0),
    ("linear", 0, 7, 0.0),
    ("cosine", 4, 4, 0.25),
]


def shortest(t):
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(str(v)) for v in t.detach().flatten().numpy().astype(np.float32)]


def no_decay(name, shape):
    """Hanvit's default rule: biases, norm and ln_ parameters, and every tensor of rank <= 1."""
    lower = name.lower()
    return len(shape) <= 1 or lower.endswith("bias") or "norm" in lower or "ln_" in lower


def scheduler(kind, optimizer, warmup_steps, total_steps, min_ratio):
    if kind == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup_steps)
    if kind == "linear":
        return get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    if min_ratio == 0.0:
        return get_cosine_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    return get_cosine_with_min_lr_schedule_with_warmup(optimizer, warmup_steps, total_steps, min_lr_rate=min_ratio)


def make_run(file, kind, options, weight_decay, schedule, schedule_options, generator):
    params = {name: torch.randn(*shape, generator=generator, dtype=torch.float32) for name, shape in PARAMS}
    record = {
        "optimizer": dict(options, type=kind),
        "weight_decay": weight_decay,
        "max_norm": MAX_NORM,
        "schedule": dict(schedule_options, kind=schedule),
        "params": [{"name": name, "shape": list(shape), "values": shortest(params[name])} for name, shape in PARAMS],
        "groups": [[name for name, shape in PARAMS if not no_decay(name, shape)],
                   [name for name, shape in PARAMS if no_decay(name, shape)]],
        "steps": [],
    }
    tensors = {name: torch.nn.Parameter(value.clone()) for name, value in params.items()}
    groups = [{"params": [tensors[name] for name in record["groups"][0]], "weight_decay": weight_decay},
              {"params": [tensors[name] for name in record["groups"][1]], "weight_decay": 0.0}]
    if kind == "AdamW":
        optimizer = torch.optim.AdamW(groups, lr=options["lr"], betas=(options["beta1"], options["beta2"]),
                                      eps=options["eps"], foreach=False)
    else:
        optimizer = torch.optim.SGD(groups, lr=options["lr"], momentum=options["momentum"],
                                    nesterov=options["nesterov"], foreach=False)
    lr_scheduler = scheduler(schedule, optimizer, **schedule_options)
    for scale in GRAD_SCALES:
        grads = {name: torch.randn(*shape, generator=generator, dtype=torch.float32) * scale
                 for name, shape in PARAMS}
        for name, grad in grads.items():
            tensors[name].grad = grad.clone()
        total_norm = torch.nn.utils.clip_grad_norm_([tensors[name] for name, _ in PARAMS], MAX_NORM)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        lr_scheduler.step()
        record["steps"].append({
            "lr": lr,
            "grads": {name: shortest(grad) for name, grad in grads.items()},
            "total_norm": float(total_norm),
            "params": {name: shortest(tensors[name]) for name, _ in PARAMS},
        })
    return file, record


def schedule_table(kind, warmup_steps, total_steps, min_ratio):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    lr_scheduler = scheduler(kind, optimizer, warmup_steps, total_steps, min_ratio)
    factors = []
    for _ in range(total_steps + 1):
        factors.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        lr_scheduler.step()
    return {"kind": kind, "warmup_steps": warmup_steps, "total_steps": total_steps, "min_ratio": min_ratio,
            "factors": factors}


def main():
    generator = torch.Generator().manual_seed(20240612)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    OUT.mkdir(parents=True, exist_ok=True)
    for run in RUNS:
        file, record = make_run(*run, generator)
        path = OUT / f"{file}.json"
        path.write_text(json.dumps(dict(versions, **record), indent=1) + "\n")
        print(f"wrote {path}")
    path = OUT / "schedules.json"
    tables = [schedule_table(*schedule) for schedule in SCHEDULES]
    path.write_text(json.dumps(dict(versions, schedules=tables), indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
