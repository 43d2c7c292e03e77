// Layout kernels: permute, slice and its adjoint, concat and broadcast copies, for any element size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hanvit::cpu {

// y = x (shape) with its dims permuted: y's dim i is x's dim dims[i]. Runs of the output's last
// dim that are contiguous in x are copied whole; otherwise cache-sized tiles are transposed.
void permute_copy(const void* x, void* y, const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                  size_t elem_size);

// x viewed as (outer, dim, inner): y (outer, count, inner) = x[:, start + i * step, :].
void slice_copy(const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
                int64_t step, size_t elem_size);

// The adjoint of slice_copy: dx (outer, dim, inner) = 0, except dx[:, start + i * step, :] = dy
// (outer, count, inner).
void slice_backward_copy(const void* dy, void* dx, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                         int64_t count, int64_t step, size_t elem_size);

// y (outer, sum(sizes), inner) = xs[k] (outer, sizes[k], inner) one after another in the middle.
void concat_copy(const std::vector<const void*>& xs, const std::vector<int64_t>& sizes, void* y, int64_t outer,
                 int64_t inner, size_t elem_size);

// y (out_shape) = x (in_shape) broadcast numpy-style: in_shape is aligned to the right of
// out_shape and its size-1 dims repeat.
void expand_copy(const void* x, void* y, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape,
                 size_t elem_size);

}  // namespace hanvit::cpu
