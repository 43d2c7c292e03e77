// Row-wise iteration over broadcast operands: the inner loop runs over the last dimension.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace hanvit::cpu {

// Up to N operands, each with per-dimension element strides (0 on broadcast dims) over a common
// output shape. Calls fn(row, offsets) for every row (all dims but the last), with each
// operand's element offset of that row's first element. Rows may be split across threads.
template <size_t N, typename Fn>
void for_each_row(const std::vector<int64_t>& shape, const std::array<const int64_t*, N>& strides, Fn&& fn) {
  const int rank = static_cast<int>(shape.size());
  int64_t rows = 1;
  for (int d = 0; d + 1 < rank; ++d) rows *= shape[static_cast<size_t>(d)];
  if (rank == 0 || rows == 0 || shape.back() == 0) {
    if (rank == 0) fn(int64_t{0}, std::array<int64_t, N>{});
    return;
  }
#pragma omp parallel for schedule(static) if (rows * shape.back() > 32768)
  for (int64_t row = 0; row < rows; ++row) {
    std::array<int64_t, N> offsets{};
    int64_t rest = row;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t i = rest % shape[static_cast<size_t>(d)];
      rest /= shape[static_cast<size_t>(d)];
      for (size_t k = 0; k < N; ++k) offsets[k] += i * strides[k][d];
    }
    fn(row, offsets);
  }
}

}  // namespace hanvit::cpu
