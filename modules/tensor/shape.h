// Shapes and strides: element counts, contiguous strides, broadcasting and printing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hanvit {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// "(2,3,4)"; the empty shape of a scalar prints as "()".
std::string shape_str(const Shape& shape);
// Numpy broadcasting of two shapes; throws std::invalid_argument naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Resolves a possibly negative axis against a rank; throws when out of range.
int normalize_axis(int64_t axis, size_t rank);

}  // namespace hanvit
