// defines: permute, slice, slice_backward, concat, expand — CUDA layout copies that move the bytes of any dtype.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// y = x (shape) with its dims permuted: y's dim i is x's dim dims[i] (rank <= kMaxRank). When the last dim stays
// last, rows are copied in words of up to 16 bytes; when it moves, tiles are transposed through shared memory.
void permute(DType dtype, const void* x, void* y, std::span<const int64_t> shape, std::span<const int64_t> dims,
             cudaStream_t stream);

// x viewed as (outer, dim, inner): y (outer, count, inner) = x[:, start + i * step, :].
void slice(DType dtype, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
           int64_t step, cudaStream_t stream);

// The adjoint of slice: dx (outer, dim, inner) = 0, except dx[:, start + i * step, :] = dy (outer, count, inner).
// One pass: every element of dx is written once.
void slice_backward(DType dtype, const void* dy, void* dx, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                    int64_t count, int64_t step, cudaStream_t stream);

// y (outer, sum(sizes), inner) = xs[k] (outer, sizes[k], inner) one after another in the middle dim; inputs with
// sizes[k] == 0 are skipped (their pointer is not read).
void concat(DType dtype, std::span<const void* const> xs, std::span<const int64_t> sizes, void* y, int64_t outer,
            int64_t inner, cudaStream_t stream);

// y (out_shape) = x (in_shape) broadcast numpy-style: in_shape is aligned to the right of out_shape and its size-1
// dims repeat.
void expand(DType dtype, const void* x, std::span<const int64_t> in_shape, void* y, std::span<const int64_t> out_shape,
            cudaStream_t stream);

}  // namespace hanvit::cuda
