// Mixed-radix index spaces over strided dims: offsets of flat indices and a row-major cursor.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace hanvit::cpu {

// Dims `size` with element strides `stride`, outermost first. An empty space has one index.
struct IndexSpace {
  std::vector<int64_t> size, stride;

  void push_front(int64_t n, int64_t s) {
    size.insert(size.begin(), n);
    stride.insert(stride.begin(), s);
  }
  int64_t count() const {
    int64_t n = 1;
    for (int64_t s : size) n *= s;
    return n;
  }
  int64_t offset(int64_t index) const {
    int64_t at = 0;
    for (size_t d = size.size(); d-- > 0;) {
      at += index % size[d] * stride[d];
      index /= size[d];
    }
    return at;
  }
};

// Walks an IndexSpace in row-major order from a starting index.
class IndexCursor {
 public:
  IndexCursor(const IndexSpace& space, int64_t start) : space_(space), index_(space.size.size(), 0) {
    for (size_t d = index_.size(); d-- > 0;) {
      index_[d] = start % space.size[d];
      start /= space.size[d];
      offset_ += index_[d] * space.stride[d];
    }
  }
  int64_t offset() const { return offset_; }
  void next() {
    for (size_t d = index_.size(); d-- > 0;) {
      offset_ += space_.stride[d];
      if (++index_[d] < space_.size[d]) return;
      offset_ -= space_.stride[d] * space_.size[d];
      index_[d] = 0;
    }
  }

 private:
  const IndexSpace& space_;
  std::vector<int64_t> index_;
  int64_t offset_ = 0;
};

// The share [begin, end) of n items that thread t of `threads` takes.
inline std::pair<int64_t, int64_t> thread_share(int64_t n, int t, int threads) {
  return {n * t / threads, n * (t + 1) / threads};
}

}  // namespace hanvit::cpu
