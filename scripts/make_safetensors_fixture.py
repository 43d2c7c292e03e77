"""Writes tests/data/safetensors/reference.{safetensors,json} with the reference `safetensors` library."""
# Usage: python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install safetensors numpy
#        /tmp/st-venv/bin/python scripts/make_safetensors_fixture.py
# The .json records every tensor's dtype, shape and values (raw bit patterns for float dtypes,
# so NaN, infinities, -0 and subnormals are exact); tests/test_safetensors.cpp checks them.
import json
import pathlib

import numpy as np
from safetensors import TensorSpec, serialize_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "safetensors"

# A single metadata key: the reference writer emits metadata in hash order, so one key keeps
# the file byte-for-byte reproducible (the C++ test rewrites it and compares bytes).
METADATA = {"description": "한빛 safetensors reference fixture"}

# name -> (safetensors dtype, shape, values); float values are given as raw bit patterns.
TENSORS = {
    "embed.weight": ("F32", (2, 4), [0x00000000, 0x80000000, 0x3FC00000, 0xC0500000,  # 0, -0, 1.5, -3.25
                                     0x7F7FFFFF, 0x00000001, 0x7F800000, 0x7FC00000]),  # max, min subnormal, inf, nan
    "scale": ("F32", (), [0x40600000]),  # 3.5
    "empty": ("F32", (0, 4), []),
    "norm.bf16": ("BF16", (2, 3), [0x3F80, 0xC000, 0x7F80, 0xFF80, 0x7FC0, 0x0001]),
    "attn.f16": ("F16", (2, 2), [0x3C00, 0xFBFF, 0x0001, 0x7E00]),  # 1, -65504, min subnormal, nan
    "ids.i32": ("I32", (3,), [-2147483648, 0, 2147483647]),
    "토큰.임베딩": ("I32", (2, 1), [7, -7]),
    "mask.u8": ("U8", (5,), [0, 1, 127, 128, 255]),
}

NUMPY = {"F32": (np.uint32, "float32"), "BF16": (np.uint16, "bfloat16"), "F16": (np.uint16, "float16"),
         "I32": (np.int32, "int32"), "U8": (np.uint8, "uint8")}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    arrays = {}
    specs = {}
    for name, (dtype, shape, values) in TENSORS.items():
        storage, spec_dtype = NUMPY[dtype]
        array = np.ascontiguousarray(np.array(values, dtype=storage).reshape(shape))
        arrays[name] = array
        specs[name] = TensorSpec(dtype=spec_dtype, shape=list(shape), data_ptr=array.ctypes.data,
                                 data_len=array.nbytes)
    serialize_file(specs, str(OUT / "reference.safetensors"), metadata=METADATA)

    floats = {"F32", "BF16", "F16"}
    record = {
        "metadata": METADATA,
        "tensors": {
            name: {"dtype": dtype, "shape": list(shape), ("bits" if dtype in floats else "values"): values}
            for name, (dtype, shape, values) in TENSORS.items()
        },
    }
    (OUT / "reference.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
