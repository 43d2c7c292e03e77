#!/usr/bin/env python3
"""Reference side of bench_image_pipeline: images/s of Hugging Face CLIP preprocessing over a folder of JPEGs.

Each image goes through transformers.image_utils.load_image (PIL decode, EXIF transpose, convert RGB)
and CLIPImageProcessor (the slow PIL backend, and the fast torchvision one when torch is installed).
Work is spread over --workers processes (a multiprocessing pool: Python threads would share the GIL).
Prints one JSON object: {"transformers": ..., "images": N, "workers": W, "pil": images/s, "fast": images/s | null,
"fast_note": why it is missing}.
"""
import argparse
import json
import multiprocessing
import time
from pathlib import Path

_processor = None


def _init(kind):
    global _processor
    import transformers

    transformers.logging.set_verbosity_error()
    if kind == "pil":
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        _processor = CLIPImageProcessorPil()
    else:
        from transformers.models.clip.image_processing_clip import CLIPImageProcessor

        _processor = CLIPImageProcessor()


def _process(path):
    from transformers.image_utils import load_image

    return _processor(images=load_image(path), return_tensors="np")["pixel_values"].shape[0]


def images_per_second(kind, paths, workers, repeats):
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init, initargs=(kind,)) as pool:
        pool.map(_process, paths[: workers * 4])  # warm up imports and caches in every worker
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            done = sum(pool.map(_process, paths, chunksize=4))
            best = max(best, done / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, help="folder of .jpg files")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(str(p) for p in Path(args.dir).glob("*.jpg"))
    if not paths:
        raise SystemExit(f"no .jpg files in {args.dir}")
    import transformers

    result = {"transformers": transformers.__version__, "images": len(paths), "workers": args.workers}
    result["pil"] = images_per_second("pil", paths, args.workers, args.repeats)
    try:
        import torchvision  # noqa: F401  (the fast processor's backend)

        result["fast"] = images_per_second("fast", paths, args.workers, args.repeats)
    except ImportError as e:
        result["fast"] = None
        result["fast_note"] = f"fast processor unavailable ({e})"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
