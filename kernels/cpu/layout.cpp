// Layout kernels: coalesced strided copies done as row copies, broadcast fills or tiled transposes.
#include "kernels/cpu/layout.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cpu/index_space.h"

namespace hanvit::cpu {
namespace {

constexpr int64_t kParallelElements = 32768;  // below this many elements, one thread
constexpr int64_t kTile = 64;                 // transpose tiles of kTile x kTile elements

// Calls fn with a value of the unsigned integer type as wide as one element.
template <typename Fn>
void by_size(size_t elem_size, Fn&& fn) {
  switch (elem_size) {
    case 1:
      return fn(uint8_t{});
    case 2:
      return fn(uint16_t{});
    case 4:
      return fn(uint32_t{});
    case 8:
      return fn(uint64_t{});
    default:
      throw std::invalid_argument("layout kernels: unsupported element size " + std::to_string(elem_size));
  }
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> row_major_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

// Output dims (outermost first) and the input element stride each one reads at.
struct Strided {
  std::vector<int64_t> size, in_stride;
};

// Drops size-1 dims and merges neighbours that read the input as a single dim.
Strided coalesce(const std::vector<int64_t>& size, const std::vector<int64_t>& in_stride) {
  Strided out;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 1) continue;
    if (!out.size.empty() && out.in_stride.back() == in_stride[d] * size[d]) {
      out.size.back() *= size[d];
      out.in_stride.back() = in_stride[d];
    } else {
      out.size.push_back(size[d]);
      out.in_stride.push_back(in_stride[d]);
    }
  }
  return out;
}

// y (rows, n) with row r starting at x offset rows.offset(r): inner stride 1 copies a run of x,
// inner stride 0 repeats its first element.
template <typename T>
void copy_rows(const T* x, T* y, const IndexSpace& rows, int64_t n, int64_t inner_stride) {
  const int64_t count = rows.count();
  const int threads = count > 1 && count * n > kParallelElements ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto [begin, end] = thread_share(count, omp_get_thread_num(), omp_get_num_threads());
    IndexCursor c(rows, begin);
    for (int64_t r = begin; r < end; ++r, c.next()) {
      T* out = y + r * n;
      if (inner_stride == 1) {
        std::memcpy(out, x + c.offset(), static_cast<size_t>(n) * sizeof(T));
      } else {
        std::fill(out, out + n, x[c.offset()]);
      }
    }
  }
}

// Copies a coalesced strided read of x into contiguous y.
template <typename T>
void strided_copy(const T* x, T* y, const Strided& s) {
  if (s.size.empty()) {
    y[0] = x[0];
    return;
  }
  const size_t last = s.size.size() - 1;
  IndexSpace rows;
  for (size_t d = 0; d < last; ++d) {
    rows.size.push_back(s.size[d]);
    rows.stride.push_back(s.in_stride[d]);
  }
  if (s.in_stride[last] <= 1) return copy_rows(x, y, rows, s.size[last], s.in_stride[last]);

  // A transpose: dim p reads x contiguously while the last dim writes y contiguously. The other
  // dims form a batch; each (batch, tile) pair is one task. A tile is read along x's runs into a
  // local buffer, then written out along y's rows.
  const size_t p = static_cast<size_t>(std::find(s.in_stride.begin(), s.in_stride.end(), 1) - s.in_stride.begin());
  const std::vector<int64_t> out_stride = row_major_strides(s.size);
  IndexSpace batch_in, batch_out;
  for (size_t d = 0; d < last; ++d) {
    if (d == p) continue;
    batch_in.size.push_back(s.size[d]);
    batch_in.stride.push_back(s.in_stride[d]);
    batch_out.size.push_back(s.size[d]);
    batch_out.stride.push_back(out_stride[d]);
  }
  const int64_t rows_a = s.size[p], cols_b = s.size[last], a_out = out_stride[p], b_in = s.in_stride[last];
  const int64_t tiles_a = (rows_a + kTile - 1) / kTile, tiles_b = (cols_b + kTile - 1) / kTile;
  const int64_t tasks = batch_in.count() * tiles_a * tiles_b;
#pragma omp parallel for schedule(static) if (tasks > 1 && product(s.size) > kParallelElements)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t b = t / (tiles_a * tiles_b), ta = t / tiles_b % tiles_a, tb = t % tiles_b;
    const T* src = x + batch_in.offset(b);
    T* dst = y + batch_out.offset(b);
    const int64_t a0 = ta * kTile, height = std::min(kTile, rows_a - a0);
    const int64_t b0 = tb * kTile, width = std::min(kTile, cols_b - b0);
    T tile[kTile * kTile];  // (a, j) at a * kTile + j
    for (int64_t j = 0; j < width; ++j) {
      const T* run = src + a0 + (b0 + j) * b_in;
      for (int64_t a = 0; a < height; ++a) tile[a * kTile + j] = run[a];
    }
    for (int64_t a = 0; a < height; ++a)
      std::memcpy(dst + (a0 + a) * a_out + b0, tile + a * kTile, static_cast<size_t>(width) * sizeof(T));
  }
}

template <typename T>
void permute_impl(const T* x, T* y, const std::vector<int64_t>& shape, const std::vector<int64_t>& dims) {
  if (product(shape) == 0) return;
  const std::vector<int64_t> strides = row_major_strides(shape);
  std::vector<int64_t> size(dims.size()), in_stride(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    size[i] = shape[static_cast<size_t>(dims[i])];
    in_stride[i] = strides[static_cast<size_t>(dims[i])];
  }
  strided_copy(x, y, coalesce(size, in_stride));
}

template <typename T>
void expand_impl(const T* x, T* y, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape) {
  if (product(out_shape) == 0) return;
  const std::vector<int64_t> own = row_major_strides(in_shape);
  const size_t lead = out_shape.size() - in_shape.size();
  std::vector<int64_t> in_stride(out_shape.size(), 0);
  for (size_t i = 0; i < in_shape.size(); ++i)
    if (in_shape[i] != 1) in_stride[lead + i] = own[i];
  strided_copy(x, y, coalesce(out_shape, in_stride));
}

template <typename T>
void slice_impl(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
                int64_t step) {
  const int64_t run = count * inner;
  if (outer * run == 0) return;
#pragma omp parallel for schedule(static) if (outer > 1 && outer * run > kParallelElements)
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = x + (o * dim + start) * inner;
    T* dst = y + o * run;
    if (step == 1) {
      std::memcpy(dst, src, static_cast<size_t>(run) * sizeof(T));
    } else if (inner == 1) {
      for (int64_t i = 0; i < count; ++i) dst[i] = src[i * step];
    } else {
      for (int64_t i = 0; i < count; ++i)
        std::memcpy(dst + i * inner, src + i * step * inner, static_cast<size_t>(inner) * sizeof(T));
    }
  }
}

template <typename T>
void slice_backward_impl(const T* dy, T* dx, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
                         int64_t step) {
  const int64_t slab = dim * inner, run = count * inner;
  if (outer * slab == 0) return;
#pragma omp parallel for schedule(static) if (outer > 1 && outer * slab > kParallelElements)
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = dy + o * run;
    T* dst = dx + o * slab;
    if (step == 1) {
      std::fill(dst, dst + start * inner, T{});
      if (run > 0) std::memcpy(dst + start * inner, src, static_cast<size_t>(run) * sizeof(T));
      std::fill(dst + start * inner + run, dst + slab, T{});
    } else {
      std::fill(dst, dst + slab, T{});
      for (int64_t i = 0; i < count; ++i)
        std::memcpy(dst + (start + i * step) * inner, src + i * inner, static_cast<size_t>(inner) * sizeof(T));
    }
  }
}

}  // namespace

void permute_copy(const void* x, void* y, const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                  size_t elem_size) {
  by_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    permute_impl(static_cast<const T*>(x), static_cast<T*>(y), shape, dims);
  });
}

void slice_copy(const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
                int64_t step, size_t elem_size) {
  by_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    slice_impl(static_cast<const T*>(x), static_cast<T*>(y), outer, dim, inner, start, count, step);
  });
}

void slice_backward_copy(const void* dy, void* dx, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                         int64_t count, int64_t step, size_t elem_size) {
  by_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    slice_backward_impl(static_cast<const T*>(dy), static_cast<T*>(dx), outer, dim, inner, start, count, step);
  });
}

void concat_copy(const std::vector<const void*>& xs, const std::vector<int64_t>& sizes, void* y, int64_t outer,
                 int64_t inner, size_t elem_size) {
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  const size_t row_bytes = static_cast<size_t>(total * inner) * elem_size;
#pragma omp parallel for schedule(static) if (outer > 1 && outer * total * inner > kParallelElements)
  for (int64_t o = 0; o < outer; ++o) {
    char* dst = static_cast<char*>(y) + static_cast<size_t>(o) * row_bytes;
    for (size_t k = 0; k < xs.size(); ++k) {
      const size_t bytes = static_cast<size_t>(sizes[k] * inner) * elem_size;
      if (bytes > 0) std::memcpy(dst, static_cast<const char*>(xs[k]) + static_cast<size_t>(o) * bytes, bytes);
      dst += bytes;
    }
  }
}

void expand_copy(const void* x, void* y, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape,
                 size_t elem_size) {
  by_size(elem_size, [&](auto tag) {
    using T = decltype(tag);
    expand_impl(static_cast<const T*>(x), static_cast<T*>(y), in_shape, out_shape);
  });
}

}  // namespace hanvit::cpu
