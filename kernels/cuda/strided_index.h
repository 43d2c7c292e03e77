// Broadcast / strided index arithmetic for CUDA kernels (rank <= kMaxRank), built on the host
// and passed to kernels by value.
#pragma once

#include <cstdint>
#include <span>

#ifdef __CUDACC__
#define HANVIT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define HANVIT_HOST_DEVICE inline
#endif

namespace hanvit::cuda {

inline constexpr int kMaxRank = 8;

struct StridedIndex {
  int rank = 0;
  int64_t sizes[kMaxRank] = {};    // the iteration shape (usually the output's)
  int64_t strides[kMaxRank] = {};  // the operand's element strides over that shape (0: broadcast)

  // Offset of the operand element for row-major iteration index `linear`.
  HANVIT_HOST_DEVICE int64_t offset(int64_t linear) const {
    int64_t at = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t i = linear % sizes[d];
      linear /= sizes[d];
      at += i * strides[d];
    }
    return at;
  }
};

// Iteration over `sizes` reading an operand with `strides` (same rank; throws above kMaxRank).
StridedIndex make_strided_index(std::span<const int64_t> sizes, std::span<const int64_t> strides);
// Iteration over `out_shape` reading a contiguous operand of `in_shape` broadcast to it
// (numpy rules: in_shape is right-aligned, size-1 axes repeat).
StridedIndex make_broadcast_index(std::span<const int64_t> out_shape, std::span<const int64_t> in_shape);

}  // namespace hanvit::cuda
