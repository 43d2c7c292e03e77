// defines: layer_norm, rms_norm, norm_backward_scratch_bytes, layer_norm_backward, rms_norm_backward —
// row normalisations over the last axis on the GPU, f32 statistics, deterministic weight gradients.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// Every buffer has `dtype` (f32, bf16 or f16); arithmetic is f32. The functions compute what
// kernels/cpu/norm.h does, with f32 two-pass row statistics instead of double ones (layer norm
// on x minus the row's first element, so a large common offset costs no precision). A row of
// up to 1024 elements belongs to 8 or 32 lanes of a warp, a longer one to a block. Rows are
// accessed in 16-byte vectors when c is a multiple of the vector width and every pointer is
// 16-byte aligned; such rows of up to 8192 elements (all rows of up to 1024) stay in registers
// between passes, others are re-read. Nothing is launched for rows == 0 or c == 0, except the
// kernel writing the zero weight gradients of rows == 0.

// y (rows, c) = (x - mean) / sqrt(var + eps) * weight + bias per row of x (rows, c), biased
// variance; weight, bias (c).
void layer_norm(DType dtype, const void* x, const void* weight, const void* bias, void* y, int64_t rows, int64_t c,
                double eps, cudaStream_t stream);
// y (rows, c) = x / sqrt(mean(x^2) + eps) * weight per row of x (rows, c); weight (c).
void rms_norm(DType dtype, const void* x, const void* weight, void* y, int64_t rows, int64_t c, double eps,
              cudaStream_t stream);

// Device scratch (16-byte aligned) that the backward functions below need: the f32 partial
// weight (and bias) gradients of each block. `multiprocessors` is the device's SM count; pass
// the same to the backward call.
size_t norm_backward_scratch_bytes(int64_t rows, int64_t c, bool layer, int multiprocessors);

// From x (rows, c), weight (c), dy (rows, c): dx (rows, c), dweight (c), dbias (c), with
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight, xhat = (x - mean) * rstd.
// dweight = sum over rows of dy * xhat and dbias = sum of dy are summed per block of rows into
// `scratch` (norm_backward_scratch_bytes(rows, c, true, multiprocessors)), then over the blocks
// in a fixed order, so a re-run gives the same bits. dweight and dbias need no alignment.
void layer_norm_backward(DType dtype, const void* x, const void* weight, const void* dy, void* dx, void* dweight,
                         void* dbias, int64_t rows, int64_t c, double eps, void* scratch, int multiprocessors,
                         cudaStream_t stream);
// From x (rows, c), weight (c), dy (rows, c): dx (rows, c) = rstd * (g - xhat * mean(g * xhat)),
// xhat = x * rstd, and dweight (c) as above; scratch: norm_backward_scratch_bytes(rows, c, false, ...).
void rms_norm_backward(DType dtype, const void* x, const void* weight, const void* dy, void* dx, void* dweight,
                       int64_t rows, int64_t c, double eps, void* scratch, int multiprocessors, cudaStream_t stream);

}  // namespace hanvit::cuda
