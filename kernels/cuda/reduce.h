// defines: ReduceOp, reduce, reduce_scratch_bytes, max_backward, max_backward_scratch_bytes — CUDA reductions over any
// axes of a contiguous f32/bf16/f16 tensor, deterministic (fixed summation order, no float atomics).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

enum class ReduceOp { sum, mean, max };

// Device scratch (bytes) that reduce() needs for this problem (0: none).
size_t reduce_scratch_bytes(ReduceOp op, DType dtype, std::span<const int64_t> shape, std::span<const int> axes,
                            int multiprocessors);

// y = op of x (shape, dtype) over `axes` (sorted, unique, non-negative); y holds the kept dims in row-major order.
// Sums accumulate in f64 (as the CPU kernels do), max in f32; mean of an empty group is NaN, sum 0, max -inf; max
// propagates NaN. `scratch` holds reduce_scratch_bytes(op, ...) bytes; `multiprocessors` sizes the split of long
// groups across blocks.
void reduce(ReduceOp op, DType dtype, std::span<const int64_t> shape, std::span<const int> axes, const void* x, void* y,
            void* scratch, int multiprocessors, cudaStream_t stream);

// Device scratch (bytes) that max_backward() needs: one 8-byte index per output.
size_t max_backward_scratch_bytes(std::span<const int64_t> shape, std::span<const int> axes);

// dx (shape) = 0, except dy at the first element (row-major) of each reduced group of x that equals that group's
// max y (a NaN y matches the first NaN). y and dy hold the kept dims, as for reduce(); all have `dtype`.
void max_backward(DType dtype, std::span<const int64_t> shape, std::span<const int> axes, const void* x, const void* y,
                  const void* dy, void* dx, void* scratch, cudaStream_t stream);

}  // namespace hanvit::cuda
