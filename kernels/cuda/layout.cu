// Layout CUDA kernels: strided reads merged to the fewest dims, then row copies in words of up to 16 bytes,
// broadcast fills, shared-memory tiled transposes, one-pass slice adjoints and grouped concats.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/layout.h"

namespace hanvit::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kConcatGroup = 8;  // inputs per concat launch

// ---- index arithmetic ----

// Division by a divisor fixed at launch. 32-bit indices (values below 2^31) divide by multiply-high and shift
// (Granlund & Montgomery); 64-bit indices divide plainly.
template <typename Index>
struct Divider;

template <>
struct Divider<uint32_t> {
  uint32_t divisor = 1, magic = 1, shift = 0;

  static Divider make(int64_t d) {
    Divider v;
    v.divisor = static_cast<uint32_t>(d);
    while ((uint64_t{1} << v.shift) < static_cast<uint64_t>(d)) ++v.shift;
    v.magic = static_cast<uint32_t>(
        ((uint64_t{1} << 32) * ((uint64_t{1} << v.shift) - static_cast<uint64_t>(d))) / static_cast<uint64_t>(d) + 1);
    return v;
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const { return (__umulhi(n, magic) + n) >> shift; }
};

template <>
struct Divider<int64_t> {
  int64_t divisor = 1;

  static Divider make(int64_t d) { return Divider{d}; }
  __device__ __forceinline__ int64_t div(int64_t n) const { return n / divisor; }
};

// Offsets of the rows of a strided read: row r (row-major over `sizes`) starts at offset(r).
template <typename Index>
struct RowIndex {
  int rank = 0;
  Divider<Index> sizes[kMaxRank];
  Index strides[kMaxRank] = {};

  __device__ __forceinline__ Index offset(Index row) const {
    Index at = 0;
    for (int d = rank - 1; d > 0; --d) {
      const Index q = sizes[d].div(row);
      at += (row - q * sizes[d].divisor) * strides[d];
      row = q;
    }
    return at + row * strides[0];
  }
};

// Rows over sizes[0, rank) with the source strides divided by `per_unit` (elements per copied unit).
template <typename Index>
RowIndex<Index> row_index(const int64_t* sizes, const int64_t* strides, int rank, int64_t per_unit = 1) {
  RowIndex<Index> rows;
  rows.rank = rank;
  for (int d = 0; d < rank; ++d) {
    rows.sizes[d] = Divider<Index>::make(sizes[d]);
    rows.strides[d] = static_cast<Index>(strides[d] / per_unit);
  }
  return rows;
}

// Calls fn with a value of the index type: 32-bit when every element index of the copy fits below 2^31.
template <typename Fn>
void by_index(int64_t largest, Fn&& fn) {
  if (largest <= std::numeric_limits<int32_t>::max()) {
    fn(uint32_t{});
  } else {
    fn(int64_t{});
  }
}

// Calls fn with a value of the unsigned type of `bytes` (1, 2, 4, 8 or 16) bytes.
template <typename Fn>
void by_word(int64_t bytes, Fn&& fn) {
  switch (bytes) {
    case 16:
      return fn(uint4{});
    case 8:
      return fn(uint2{});
    case 4:
      return fn(uint32_t{});
    case 2:
      return fn(uint16_t{});
    default:
      return fn(uint8_t{});
  }
}

// The widest word (<= 16 bytes) dividing every byte count or address OR-ed into `bits`.
int64_t word_bytes(uint64_t bits) {
  const uint64_t low = bits & (~bits + 1);
  return low == 0 || low > 16 ? 16 : static_cast<int64_t>(low);
}

uint64_t address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// ---- strided reads, merged ----

// A read of x into contiguous y: y's dims (outermost first) and the x element stride of each.
struct Strided {
  int rank = 0;
  int64_t sizes[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
};

// Size-1 dims dropped; a dim merges into the one before it when x reads the pair as one dim.
Strided merge_dims(std::span<const int64_t> sizes, std::span<const int64_t> strides) {
  const StridedIndex index = make_strided_index(sizes, strides);
  Strided s;
  for (int d = 0; d < index.rank; ++d) {
    if (index.sizes[d] == 1) continue;
    if (s.rank > 0 && s.strides[s.rank - 1] == index.strides[d] * index.sizes[d]) {
      s.sizes[s.rank - 1] *= index.sizes[d];
    } else {
      s.sizes[s.rank] = index.sizes[d];
      ++s.rank;
    }
    s.strides[s.rank - 1] = index.strides[d];
  }
  if (s.rank == 0) {  // one element
    s.rank = 1;
    s.sizes[0] = 1;
    s.strides[0] = 1;
  }
  return s;
}

// y (rows, row_words) = runs of x: row r starts at word rows.offset(r).
template <typename Word, typename Index>
__global__ void copy_rows_kernel(const Word* __restrict__ x, Word* __restrict__ y,
                                 const __grid_constant__ RowIndex<Index> rows, Divider<Index> row_words, Index total) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index u = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; u < total; u += stride) {
    const Index r = row_words.div(u);
    y[u] = x[rows.offset(r) + (u - r * row_words.divisor)];
  }
}

// y (rows, row_units) = x[rows.offset(r)] repeated; a unit is one element or, with kVector, kVec<T> of them.
template <typename T, typename Index, bool kVector>
__global__ void broadcast_rows_kernel(const T* __restrict__ x, T* __restrict__ y,
                                      const __grid_constant__ RowIndex<Index> rows, Divider<Index> row_units,
                                      Index total) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index u = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; u < total; u += stride) {
    const T value = x[rows.offset(row_units.div(u))];
    if constexpr (kVector) {
      Vec<T> splat;
#pragma unroll
      for (int j = 0; j < kVec<T>; ++j) splat.v[j] = value;
      store_vec(y + u * kVec<T>, splat);
    } else {
      y[u] = value;
    }
  }
}

// y (n) = x[index.offset(i)], element by element.
template <typename T, typename Index>
__global__ void gather_kernel(const T* __restrict__ x, T* __restrict__ y, const __grid_constant__ RowIndex<Index> index,
                              Index n) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = x[index.offset(i)];
}

// A batch of (rows, cols) transposes: dim a runs contiguously through x, dim b (y's last) through y.
template <typename Index>
struct Transpose {
  int rank = 0;  // batch dims
  Divider<Index> sizes[kMaxRank];
  Index x_strides[kMaxRank] = {}, y_strides[kMaxRank] = {};
  Index batch = 1, rows = 0, cols = 0;
  Index x_col_stride = 0;  // x stride of b
  Index y_row_stride = 0;  // y stride of a
};

// One block per (batch, tile of a, tile of b): read kTile x kTile along a (coalesced in x), write along b
// (coalesced in y) through a padded shared tile. blockDim = (kTile, kThreads / kTile).
template <typename T, int kTile, typename Index>
__global__ void transpose_kernel(const T* __restrict__ x, T* __restrict__ y,
                                 const __grid_constant__ Transpose<Index> t) {
  __shared__ T tile[kTile][kTile + 1];  // [b - b0][a - a0]
  const Index tiles_a = (t.rows + kTile - 1) / kTile, tiles_b = (t.cols + kTile - 1) / kTile;
  for (Index batch = blockIdx.z; batch < t.batch; batch += gridDim.z) {
    Index x_base = 0, y_base = 0, rest = batch;
    for (int d = t.rank - 1; d > 0; --d) {
      const Index q = t.sizes[d].div(rest), i = rest - q * t.sizes[d].divisor;
      x_base += i * t.x_strides[d];
      y_base += i * t.y_strides[d];
      rest = q;
    }
    x_base += rest * t.x_strides[0];
    y_base += rest * t.y_strides[0];
    for (Index ta = blockIdx.y; ta < tiles_a; ta += gridDim.y) {
      for (Index tb = blockIdx.x; tb < tiles_b; tb += gridDim.x) {
        const Index a0 = ta * kTile, b0 = tb * kTile;
        const Index a = a0 + threadIdx.x;
        for (int j = static_cast<int>(threadIdx.y); j < kTile; j += blockDim.y) {
          const Index b = b0 + j;
          if (a < t.rows && b < t.cols) tile[j][threadIdx.x] = x[x_base + a + b * t.x_col_stride];
        }
        __syncthreads();
        const Index b = b0 + threadIdx.x;
        for (int j = static_cast<int>(threadIdx.y); j < kTile; j += blockDim.y) {
          const Index row = a0 + j;
          if (row < t.rows && b < t.cols) y[y_base + row * t.y_row_stride + b] = tile[threadIdx.x][j];
        }
        __syncthreads();
      }
    }
  }
}

// Last dim read contiguously: copy rows in the widest word that divides the row length, every row start and both
// addresses.
template <typename Index>
void launch_copy_rows(const void* x, void* y, const Strided& s, int64_t elem_size, int64_t n, cudaStream_t stream) {
  const int last = s.rank - 1;
  uint64_t bits = address(x) | address(y) | static_cast<uint64_t>(s.sizes[last] * elem_size);
  for (int d = 0; d < last; ++d) bits |= static_cast<uint64_t>(s.strides[d] * elem_size);
  const int64_t word = word_bytes(bits), per_word = word / elem_size;
  const int64_t total = n / per_word;
  by_word(word, [&](auto tag) {
    using Word = decltype(tag);
    copy_rows_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<const Word*>(x), static_cast<Word*>(y), row_index<Index>(s.sizes, s.strides, last, per_word),
        Divider<Index>::make(s.sizes[last] / per_word), static_cast<Index>(total));
    HANVIT_CUDA_CHECK_LAUNCH("copy_rows_kernel");
  });
}

// Last dim read with stride 0: every row repeats one element, written 16 bytes at a time when rows allow.
template <typename T, typename Index>
void launch_broadcast_rows(const void* x, void* y, const Strided& s, int64_t n, cudaStream_t stream) {
  const int last = s.rank - 1;
  const RowIndex<Index> rows = row_index<Index>(s.sizes, s.strides, last);
  if (s.sizes[last] % kVec<T> == 0 && aligned16(y)) {
    const int64_t total = n / kVec<T>;
    broadcast_rows_kernel<T, Index, true><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), rows, Divider<Index>::make(s.sizes[last] / kVec<T>),
        static_cast<Index>(total));
  } else {
    broadcast_rows_kernel<T, Index, false><<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), rows, Divider<Index>::make(s.sizes[last]), static_cast<Index>(n));
  }
  HANVIT_CUDA_CHECK_LAUNCH("broadcast_rows_kernel");
}

// Last dim read with a stride > 1 while dim p is read contiguously: tiled transposes over the other dims.
template <typename T, typename Index>
void launch_transpose(const void* x, void* y, const Strided& s, int p, cudaStream_t stream) {
  constexpr int kTile = sizeof(T) >= 4 ? 32 : 64;
  const int last = s.rank - 1;
  int64_t y_strides[kMaxRank];
  int64_t stride = 1;
  for (int d = last; d >= 0; --d) {
    y_strides[d] = stride;
    stride *= s.sizes[d];
  }
  Transpose<Index> t;
  int64_t batch = 1;
  for (int d = 0; d < last; ++d) {
    if (d == p) continue;
    t.sizes[t.rank] = Divider<Index>::make(s.sizes[d]);
    t.x_strides[t.rank] = static_cast<Index>(s.strides[d]);
    t.y_strides[t.rank] = static_cast<Index>(y_strides[d]);
    ++t.rank;
    batch *= s.sizes[d];
  }
  t.batch = static_cast<Index>(batch);
  t.rows = static_cast<Index>(s.sizes[p]);
  t.cols = static_cast<Index>(s.sizes[last]);
  t.x_col_stride = static_cast<Index>(s.strides[last]);
  t.y_row_stride = static_cast<Index>(y_strides[p]);
  const int64_t tiles_a = (s.sizes[p] + kTile - 1) / kTile, tiles_b = (s.sizes[last] + kTile - 1) / kTile;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(tiles_b, std::numeric_limits<int32_t>::max())),
                  static_cast<unsigned>(std::min<int64_t>(tiles_a, 65535)),
                  static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
  transpose_kernel<T, kTile>
      <<<grid, dim3(kTile, kThreads / kTile), 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), t);
  HANVIT_CUDA_CHECK_LAUNCH("transpose_kernel");
}

// y (s.sizes) = the strided read s of x; in_numel bounds x's element indices.
void copy_strided(DType dtype, const void* x, void* y, const Strided& s, int64_t in_numel, cudaStream_t stream) {
  int64_t n = 1;
  for (int d = 0; d < s.rank; ++d) n *= s.sizes[d];
  if (n == 0) return;
  const int last = s.rank - 1;
  int contiguous_dim = -1;
  for (int d = 0; d < s.rank; ++d)
    if (s.strides[d] == 1) contiguous_dim = d;
  by_index(std::max(n, in_numel), [&](auto index_tag) {
    using Index = decltype(index_tag);
    if (s.strides[last] == 1)
      return launch_copy_rows<Index>(x, y, s, static_cast<int64_t>(dtype_size(dtype)), n, stream);
    HANVIT_DISPATCH_BYTES(dtype, "layout copy", T, {
      if (s.strides[last] == 0) return launch_broadcast_rows<T, Index>(x, y, s, n, stream);
      if (contiguous_dim >= 0) return launch_transpose<T, Index>(x, y, s, contiguous_dim, stream);
      gather_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                                    row_index<Index>(s.sizes, s.strides, s.rank),
                                                                    static_cast<Index>(n));
      HANVIT_CUDA_CHECK_LAUNCH("gather_kernel");
    });
  });
}

// ---- slice adjoint and concat ----

// dx (outer, dim, inner_words) with row k = start + i * step taken from dy (outer, count, inner_words), the other
// rows zero.
template <typename Word, typename Index>
__global__ void slice_backward_kernel(const Word* __restrict__ dy, Word* __restrict__ dx, Divider<Index> inner,
                                      Divider<Index> dim, Index start, Index count, Divider<Index> step, Index total) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index u = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; u < total; u += stride) {
    const Index row = inner.div(u), j = u - row * inner.divisor;
    const Index o = dim.div(row), k = row - o * dim.divisor;
    Word value{};
    if (k >= start) {
      const Index i = step.div(k - start);
      if (k - start == i * step.divisor && i < count) value = dy[(o * count + i) * inner.divisor + j];
    }
    dx[u] = value;
  }
}

// Up to kConcatGroup inputs that fill the y columns [begin[0], begin[count]) of every row, in words.
template <typename Index>
struct ConcatGroup {
  const void* x[kConcatGroup] = {};
  Index begin[kConcatGroup + 1] = {};
  int count = 0;
};

// y (outer, row_words): the group's columns of every row, each word from the input that owns its column.
template <typename Word, typename Index>
__global__ void concat_kernel(const __grid_constant__ ConcatGroup<Index> g, Word* __restrict__ y,
                              Divider<Index> group_words, Index row_words, Index total) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index u = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; u < total; u += stride) {
    const Index row = group_words.div(u), column = u - row * group_words.divisor + g.begin[0];
    int k = 0;
    while (k + 1 < g.count && column >= g.begin[k + 1]) ++k;
    const Index width = g.begin[k + 1] - g.begin[k];
    y[row * row_words + column] = static_cast<const Word*>(g.x[k])[row * width + column - g.begin[k]];
  }
}

}  // namespace

void permute(DType dtype, const void* x, void* y, std::span<const int64_t> shape, std::span<const int64_t> dims,
             cudaStream_t stream) {
  if (dims.size() != shape.size() || shape.size() > static_cast<size_t>(kMaxRank))
    throw std::invalid_argument("permute: " + std::to_string(dims.size()) + " dims for a rank " +
                                std::to_string(shape.size()) +
                                " tensor (CUDA supports rank <= " + std::to_string(kMaxRank) + ")");
  int64_t in_strides[kMaxRank], sizes[kMaxRank], strides[kMaxRank];
  const int rank = static_cast<int>(shape.size());
  int64_t n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    in_strides[d] = n;
    n *= shape[static_cast<size_t>(d)];
  }
  for (int i = 0; i < rank; ++i) {
    sizes[i] = shape[static_cast<size_t>(dims[static_cast<size_t>(i)])];
    strides[i] = in_strides[dims[static_cast<size_t>(i)]];
  }
  if (n == 0) return;
  copy_strided(dtype, x, y, merge_dims({sizes, shape.size()}, {strides, shape.size()}), n, stream);
}

void slice(DType dtype, const void* x, void* y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t count,
           int64_t step, cudaStream_t stream) {
  if (outer * count * inner == 0) return;
  const int64_t sizes[] = {outer, count, inner}, strides[] = {dim * inner, step * inner, 1};
  const void* first = static_cast<const char*>(x) + start * inner * static_cast<int64_t>(dtype_size(dtype));
  copy_strided(dtype, first, y, merge_dims(sizes, strides), outer * dim * inner, stream);
}

void slice_backward(DType dtype, const void* dy, void* dx, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                    int64_t count, int64_t step, cudaStream_t stream) {
  const int64_t total_elements = outer * dim * inner;
  if (total_elements == 0) return;
  const int64_t elem_size = static_cast<int64_t>(dtype_size(dtype));
  // In words: a unit step makes every row one word wide, so the copied span is one run per outer index.
  int64_t word = 0;
  if (step == 1) {
    word =
        word_bytes(address(dy) | address(dx) | static_cast<uint64_t>(dim * inner * elem_size) |
                   static_cast<uint64_t>(start * inner * elem_size) | static_cast<uint64_t>(count * inner * elem_size));
    const int64_t per_word = word / elem_size;
    dim = dim * inner / per_word;
    start = start * inner / per_word;
    count = count * inner / per_word;
    inner = 1;
  } else {
    word = word_bytes(address(dy) | address(dx) | static_cast<uint64_t>(inner * elem_size));
    inner = inner * elem_size / word;
  }
  const int64_t total = outer * dim * inner;
  by_index(total_elements, [&](auto index_tag) {
    using Index = decltype(index_tag);
    by_word(word, [&](auto word_tag) {
      using Word = decltype(word_tag);
      slice_backward_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
          static_cast<const Word*>(dy), static_cast<Word*>(dx), Divider<Index>::make(inner), Divider<Index>::make(dim),
          static_cast<Index>(start), static_cast<Index>(count), Divider<Index>::make(step), static_cast<Index>(total));
      HANVIT_CUDA_CHECK_LAUNCH("slice_backward_kernel");
    });
  });
}

void concat(DType dtype, std::span<const void* const> xs, std::span<const int64_t> sizes, void* y, int64_t outer,
            int64_t inner, cudaStream_t stream) {
  const int64_t elem_size = static_cast<int64_t>(dtype_size(dtype));
  int64_t total_size = 0;
  uint64_t bits = address(y);
  for (size_t k = 0; k < xs.size(); ++k) {
    total_size += sizes[k];
    if (sizes[k] > 0) bits |= address(xs[k]) | static_cast<uint64_t>(sizes[k] * inner * elem_size);
  }
  if (outer * total_size * inner == 0) return;
  const int64_t word = word_bytes(bits), per_word = word / elem_size;
  const int64_t row_words = total_size * inner / per_word;
  by_index(outer * total_size * inner, [&](auto index_tag) {
    using Index = decltype(index_tag);
    by_word(word, [&](auto word_tag) {
      using Word = decltype(word_tag);
      int64_t column = 0;  // in words
      size_t k = 0;
      while (k < xs.size()) {
        ConcatGroup<Index> group;
        group.begin[0] = static_cast<Index>(column);
        for (; k < xs.size() && group.count < kConcatGroup; ++k) {
          if (sizes[k] == 0) continue;
          group.x[group.count] = xs[k];
          column += sizes[k] * inner / per_word;
          group.begin[++group.count] = static_cast<Index>(column);
        }
        if (group.count == 0) break;
        const int64_t group_words = column - static_cast<int64_t>(group.begin[0]);
        concat_kernel<Word, Index><<<grid_for(outer * group_words, kThreads), kThreads, 0, stream>>>(
            group, static_cast<Word*>(y), Divider<Index>::make(group_words), static_cast<Index>(row_words),
            static_cast<Index>(outer * group_words));
        HANVIT_CUDA_CHECK_LAUNCH("concat_kernel");
      }
    });
  });
}

void expand(DType dtype, const void* x, std::span<const int64_t> in_shape, void* y, std::span<const int64_t> out_shape,
            cudaStream_t stream) {
  const StridedIndex index = make_broadcast_index(out_shape, in_shape);
  int64_t in_numel = 1;
  for (int64_t d : in_shape) in_numel *= d;
  copy_strided(dtype, x, y, merge_dims({index.sizes, out_shape.size()}, {index.strides, out_shape.size()}), in_numel,
               stream);
}

}  // namespace hanvit::cuda
