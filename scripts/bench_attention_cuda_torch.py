"""PyTorch GPU attention timings for bench/cuda/bench_cuda_attention.cpp, which runs this in the same session."""
# Usage: python3 scripts/bench_attention_cuda_torch.py --heads 16 --tokens 524288 --dims 64 128
#            --lengths 512 1024 2048 4096 8192 [--reps 20]
# For every head dim D, length T and causal in (0, 1), with batch B = max(1, tokens // (heads * T)), prints one line
#   torch D=<D> T=<T> B=<B> causal=<0|1> fwd_ms=<median forward> fwdbwd_ms=<median forward + backward>
# timed with CUDA events (median of --reps runs after two warm-up runs): bf16 q, k, v (B, H, T, D) on the GPU through
# torch.nn.functional.scaled_dot_product_attention (is_causal: Tq == Tk here, so PyTorch's top-left causal rule equals
# our bottom-right one); forward + backward is one forward and torch.autograd.grad for q, k and v. The first line is
#   torch version=<v> device=<GPU name, spaces as underscores>
import argparse
import statistics

import torch
import torch.nn.functional as F


def median_ms(fn, reps):
    """Median CUDA-event time of `reps` runs after two warm-up runs."""
    fn()
    fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=16 * 2048 * 16, help="B * H * T")
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch has no CUDA device")
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device).replace(" ", "_")
    print(f"torch version={torch.__version__} device={name}", flush=True)
    generator = torch.Generator(device=device).manual_seed(0)
    for dim in args.dims:
        for length in args.lengths:
            batch = max(1, args.tokens // (args.heads * length))
            shape = (batch, args.heads, length, dim)
            q, k, v, dout = (
                torch.randn(*shape, generator=generator, device=device, dtype=torch.bfloat16) for _ in range(4)
            )
            for causal in (False, True):
                with torch.no_grad():
                    fwd = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), args.reps)
                qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))

                def step():
                    out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                    torch.autograd.grad(out, (qg, kg, vg), dout)

                fwdbwd = median_ms(step, args.reps)
                print(
                    f"torch D={dim} T={length} B={batch} causal={int(causal)} fwd_ms={fwd:.4f} fwdbwd_ms={fwdbwd:.4f}",
                    flush=True,
                )
            del q, k, v, dout
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
