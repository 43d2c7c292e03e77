// Host construction of StridedIndex for broadcasting and strided copies.
#include "kernels/cuda/strided_index.h"

#include <stdexcept>
#include <string>

namespace hanvit::cuda {

StridedIndex make_strided_index(std::span<const int64_t> sizes, std::span<const int64_t> strides) {
  if (sizes.size() > static_cast<size_t>(kMaxRank) || strides.size() != sizes.size())
    throw std::invalid_argument("CUDA kernels take tensors of rank <= " + std::to_string(kMaxRank) + ", got rank " +
                                std::to_string(sizes.size()));
  StridedIndex index;
  index.rank = static_cast<int>(sizes.size());
  for (size_t d = 0; d < sizes.size(); ++d) {
    index.sizes[d] = sizes[d];
    index.strides[d] = strides[d];
  }
  return index;
}

StridedIndex make_broadcast_index(std::span<const int64_t> out_shape, std::span<const int64_t> in_shape) {
  if (out_shape.size() > static_cast<size_t>(kMaxRank) || in_shape.size() > out_shape.size())
    throw std::invalid_argument("CUDA broadcast of rank " + std::to_string(in_shape.size()) + " to rank " +
                                std::to_string(out_shape.size()) + " is not supported");
  StridedIndex index;
  index.rank = static_cast<int>(out_shape.size());
  const size_t lead = out_shape.size() - in_shape.size();
  int64_t stride = 1;
  for (size_t d = out_shape.size(); d-- > 0;) {
    index.sizes[d] = out_shape[d];
    if (d < lead) {
      index.strides[d] = 0;
      continue;
    }
    const int64_t in_size = in_shape[d - lead];
    index.strides[d] = in_size == 1 ? 0 : stride;
    stride *= in_size;
  }
  return index;
}

}  // namespace hanvit::cuda
