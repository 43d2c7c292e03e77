// Reduction f32 kernels over any axes of a contiguous tensor: sum, mean, max and max's gradient.
#pragma once

#include <cstdint>
#include <vector>

namespace hanvit::cpu {

enum class ReduceOp { sum, mean, max };

// y = op of x (shape) over `axes` (sorted, unique, non-negative). y holds the kept dims in
// row-major order (numel(shape) / prod(reduced dims) values). Sums accumulate in double; mean of
// an empty group is NaN, max of one is -inf; max propagates NaN.
void reduce_f32(ReduceOp op, const std::vector<int64_t>& shape, const std::vector<int>& axes, const float* x, float* y);

// dx (shape) = 0, except dy at the first element (row-major) of each reduced group of x that
// equals that group's max y (a NaN y matches the first NaN). y and dy: the kept dims, as for
// reduce_f32.
void max_backward_f32(const std::vector<int64_t>& shape, const std::vector<int>& axes, const float* x, const float* y,
                      const float* dy, float* dx);

}  // namespace hanvit::cpu
