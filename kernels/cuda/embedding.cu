// Embedding kernels: row gather, scatter-add over positions sorted by id (deterministic), and
// rotate-half RoPE from a double-precision cos/sin table.
#include <algorithm>
#include <bit>
#include <climits>
#include <cub/device/device_radix_sort.cuh>
#include <stdexcept>
#include <string>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/embedding.h"

namespace hanvit::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;       // sorted positions summed by one thread of the scatter-add
constexpr int kTileBatch = 4;   // dy rows a scatter-add thread loads before adding them
constexpr size_t kAlign = 256;  // scratch sub-buffers start at multiples of this

size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// Launch shape for work over (rows, units): blockDim.x threads cover the units of a row (a
// power of two below 32 units, else a multiple of 32), blockDim.y rows; grid.y is capped, so
// kernels loop over rows with stride gridDim.y * blockDim.y.
struct RowUnitsLaunch {
  dim3 grid, block;
};

RowUnitsLaunch row_units_launch(int64_t rows, int64_t units) {
  unsigned bx = 1;
  if (units >= 32)
    bx = static_cast<unsigned>(std::min<int64_t>(kThreads, (units + 31) / 32 * 32));
  else
    while (bx < units) bx <<= 1;
  const unsigned by = kThreads / bx;
  const int64_t grid_x = (units + bx - 1) / bx;
  const int64_t grid_y = std::min<int64_t>((rows + by - 1) / by, 65535);
  if (grid_x > INT_MAX) throw std::invalid_argument("embedding kernels: rows of " + std::to_string(units) + " units");
  return {dim3(static_cast<unsigned>(grid_x), static_cast<unsigned>(std::max<int64_t>(grid_y, 1))), dim3(bx, by)};
}

// kWidth elements of T at p as f32: one 16-byte vector (kWidth == kVec<T>) or one element.
template <int kWidth, typename T>
__device__ __forceinline__ void load_chunk(const T* p, float (&v)[kWidth]) {
  if constexpr (kWidth == 1) {
    v[0] = to_f32(*p);
  } else {
    static_assert(kWidth == kVec<T>, "a chunk is one element or one 16-byte vector");
    const Vec<T> in = load_vec(p);
#pragma unroll
    for (int i = 0; i < kWidth; ++i) v[i] = to_f32(in.v[i]);
  }
}

template <int kWidth, typename T>
__device__ __forceinline__ void store_chunk(T* p, const float (&v)[kWidth]) {
  if constexpr (kWidth == 1) {
    *p = from_f32<T>(v[0]);
  } else {
    static_assert(kWidth == kVec<T>, "a chunk is one element or one 16-byte vector");
    Vec<T> out;
#pragma unroll
    for (int i = 0; i < kWidth; ++i) out.v[i] = from_f32<T>(v[i]);
    store_vec(p, out);
  }
}

// kWidth f32 values at p (16-byte aligned when kWidth > 1, a multiple of 4).
template <int kWidth>
__device__ __forceinline__ void load_floats(const float* p, float (&v)[kWidth]) {
  if constexpr (kWidth == 1) {
    v[0] = *p;
  } else {
#pragma unroll
    for (int i = 0; i < kWidth; i += 4) {
      const float4 q = *reinterpret_cast<const float4*>(p + i);
      v[i] = q.x, v[i + 1] = q.y, v[i + 2] = q.z, v[i + 3] = q.w;
    }
  }
}

template <int kWidth>
__device__ __forceinline__ void store_floats(float* p, const float (&v)[kWidth]) {
  if constexpr (kWidth == 1) {
    *p = v[0];
  } else {
#pragma unroll
    for (int i = 0; i < kWidth; i += 4)
      *reinterpret_cast<float4*>(p + i) = make_float4(v[i], v[i + 1], v[i + 2], v[i + 3]);
  }
}

// ---- embedding ----

// out (n, units) = weight (vocab, units)[ids], rows moved as units of U; zero rows for ids
// outside [0, vocab).
template <typename U>
__global__ void __launch_bounds__(kThreads)
    embedding_kernel(const U* __restrict__ weight, int64_t vocab, int64_t units, const int32_t* __restrict__ ids,
                     int64_t n, U* __restrict__ out) {
  const int64_t unit = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (unit >= units) return;
  for (int64_t p = blockIdx.y * int64_t{blockDim.y} + threadIdx.y; p < n; p += int64_t{gridDim.y} * blockDim.y) {
    const int64_t id = ids[p];
    out[p * units + unit] = id >= 0 && id < vocab ? weight[id * units + unit] : U{};
  }
}

template <typename U>
void launch_embedding(const void* weight, int64_t vocab, int64_t row_bytes, const int32_t* ids, int64_t n, void* out,
                      cudaStream_t stream) {
  const int64_t units = row_bytes / static_cast<int64_t>(sizeof(U));
  const RowUnitsLaunch launch = row_units_launch(n, units);
  embedding_kernel<U><<<launch.grid, launch.block, 0, stream>>>(static_cast<const U*>(weight), vocab, units, ids, n,
                                                                static_cast<U*>(out));
  HANVIT_CUDA_CHECK_LAUNCH("embedding_kernel");
}

// ---- embedding_backward ----

// Where embedding_backward's scratch goes: sort keys and positions (two buffers each, for the
// radix sort), one (dim) f32 row per tile of sorted positions, the sort's temporary storage.
struct BackwardScratch {
  uint32_t* keys[2];
  int32_t* positions[2];
  float* tile_sums;
  void* sort_storage;
  size_t sort_bytes;
  size_t total_bytes;
};

int key_bits(int64_t vocab) { return std::bit_width(static_cast<uint64_t>(vocab)); }  // keys lie in [0, vocab]

int64_t tiles_of(int64_t n) { return (n + kTile - 1) / kTile; }

// The layout of the scratch at `base` (null: only the sizes).
BackwardScratch backward_scratch(int64_t n, int64_t vocab, int64_t dim, void* base) {
  BackwardScratch s{};
  cub::DoubleBuffer<uint32_t> keys(nullptr, nullptr);
  cub::DoubleBuffer<int32_t> positions(nullptr, nullptr);
  HANVIT_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(nullptr, s.sort_bytes, keys, positions, static_cast<int>(n), 0, key_bits(vocab)));
  char* at = static_cast<char*>(base);
  size_t offset = 0;
  auto take = [&](size_t bytes) {
    void* p = at == nullptr ? nullptr : at + offset;
    offset += align_up(bytes);
    return p;
  };
  const size_t ints = static_cast<size_t>(n) * sizeof(int32_t);
  for (int b = 0; b < 2; ++b) {
    s.keys[b] = static_cast<uint32_t*>(take(ints));
    s.positions[b] = static_cast<int32_t*>(take(ints));
  }
  s.tile_sums = static_cast<float*>(take(static_cast<size_t>(tiles_of(n) * dim) * sizeof(float)));
  s.sort_storage = take(s.sort_bytes);
  s.total_bytes = offset;
  return s;
}

// keys (n): ids, with vocab for an id outside [0, vocab) (sorted last, then skipped);
// positions (n) = 0, 1, ..., n - 1.
__global__ void __launch_bounds__(kThreads)
    sort_keys_kernel(const int32_t* __restrict__ ids, int64_t n, uint32_t vocab, uint32_t* __restrict__ keys,
                     int32_t* __restrict__ positions) {
  for (int64_t p = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; p < n; p += int64_t{gridDim.x} * blockDim.x) {
    const int32_t id = ids[p];
    keys[p] = id >= 0 && static_cast<uint32_t>(id) < vocab ? static_cast<uint32_t>(id) : vocab;
    positions[p] = static_cast<int32_t>(p);
  }
}

// Tile t holds the sorted entries [t * kTile, min(n, (t + 1) * kTile)); a run is a maximal
// stretch of entries with one key. Each thread (tile, unit) adds the dy rows (n, dim) of every
// run in its tile in order, over elements [unit * kWidth, (unit + 1) * kWidth). A run wholly in
// the tile is stored to dweight (vocab, dim); a run going on into the next tile leaves its sum
// in tile_sums (tiles, dim); a run that began in an earlier tile and ends in this one is left
// to finish_runs_kernel.
template <typename T, int kWidth>
__global__ void __launch_bounds__(kThreads)
    tile_sums_kernel(const uint32_t* __restrict__ keys, const int32_t* __restrict__ positions, int64_t n,
                     const T* __restrict__ dy, uint32_t vocab, int64_t dim, T* __restrict__ dweight,
                     float* __restrict__ tile_sums) {
  const int64_t unit = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (unit * kWidth >= dim) return;
  const int64_t e = unit * kWidth;
  for (int64_t tile = blockIdx.y * int64_t{blockDim.y} + threadIdx.y; tile * kTile < n;
       tile += int64_t{gridDim.y} * blockDim.y) {
    const int64_t begin = tile * kTile, end = std::min(n, begin + kTile);
    bool began_before = begin > 0 && keys[begin - 1] == keys[begin];  // the tile's first run
    float sum[kWidth] = {};
    for (int64_t batch = begin; batch < end; batch += kTileBatch) {
      float rows[kTileBatch][kWidth];
      uint32_t key[kTileBatch];
#pragma unroll
      for (int b = 0; b < kTileBatch; ++b) {
        if (batch + b < end) {
          key[b] = keys[batch + b];
          load_chunk<kWidth>(dy + static_cast<int64_t>(positions[batch + b]) * dim + e, rows[b]);
        }
      }
#pragma unroll
      for (int b = 0; b < kTileBatch; ++b) {
        const int64_t k = batch + b;
        if (k >= end) break;
#pragma unroll
        for (int i = 0; i < kWidth; ++i) sum[i] += rows[b][i];
        const bool run_ends = k + 1 == n || keys[k + 1] != key[b];
        if (!run_ends && k + 1 < end) continue;
        if (key[b] < vocab) {
          if (!run_ends)
            store_floats<kWidth>(tile_sums + tile * dim + e, sum);
          else if (!began_before)
            store_chunk<kWidth>(dweight + static_cast<int64_t>(key[b]) * dim + e, sum);
        }
        began_before = false;
#pragma unroll
        for (int i = 0; i < kWidth; ++i) sum[i] = 0.0f;
      }
    }
  }
}

// For each tile where a run that began in an earlier tile ends: dweight row of the run's key =
// the tile sums of the tiles before (in tile order) + the run's dy rows in this tile (in order).
template <typename T, int kWidth>
__global__ void __launch_bounds__(kThreads)
    finish_runs_kernel(const uint32_t* __restrict__ keys, const int32_t* __restrict__ positions, int64_t n,
                       const T* __restrict__ dy, uint32_t vocab, int64_t dim, T* __restrict__ dweight,
                       const float* __restrict__ tile_sums) {
  const int64_t unit = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (unit * kWidth >= dim) return;
  const int64_t e = unit * kWidth;
  for (int64_t tile = 1 + blockIdx.y * int64_t{blockDim.y} + threadIdx.y; tile * kTile < n;
       tile += int64_t{gridDim.y} * blockDim.y) {
    const int64_t begin = tile * kTile, end = std::min(n, begin + kTile);
    const uint32_t key = keys[begin];
    if (key >= vocab || keys[begin - 1] != key || (end < n && keys[end] == key)) continue;
    int64_t first = tile - 1;  // the tile where the run begins
    while (first > 0 && keys[first * kTile - 1] == key) --first;
    float sum[kWidth] = {};
    for (int64_t t = first; t < tile; ++t) {
      float part[kWidth];
      load_floats<kWidth>(tile_sums + t * dim + e, part);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) sum[i] += part[i];
    }
    for (int64_t k = begin; k < end && keys[k] == key; ++k) {
      float row[kWidth];
      load_chunk<kWidth>(dy + static_cast<int64_t>(positions[k]) * dim + e, row);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) sum[i] += row[i];
    }
    store_chunk<kWidth>(dweight + static_cast<int64_t>(key) * dim + e, sum);
  }
}

template <typename T, int kWidth>
void launch_run_sums(const BackwardScratch& s, const uint32_t* keys, const int32_t* positions, int64_t n,
                     const void* dy, uint32_t vocab, int64_t dim, void* dweight, cudaStream_t stream) {
  // units along x, tiles along y
  const RowUnitsLaunch launch = row_units_launch(tiles_of(n), dim / kWidth);
  tile_sums_kernel<T, kWidth><<<launch.grid, launch.block, 0, stream>>>(
      keys, positions, n, static_cast<const T*>(dy), vocab, dim, static_cast<T*>(dweight), s.tile_sums);
  HANVIT_CUDA_CHECK_LAUNCH("tile_sums_kernel");
  finish_runs_kernel<T, kWidth><<<launch.grid, launch.block, 0, stream>>>(
      keys, positions, n, static_cast<const T*>(dy), vocab, dim, static_cast<T*>(dweight), s.tile_sums);
  HANVIT_CUDA_CHECK_LAUNCH("finish_runs_kernel");
}

// ---- rope ----

// cos_table, sin_table (steps, half) = cos and direction * sin of (positions[t] / position_scale) *
// theta^(-2i/D), in double as cpu::rope_f32, rounded to f32.
__global__ void __launch_bounds__(kThreads)
    rope_table_kernel(const int32_t* __restrict__ positions, int64_t steps, int64_t half, double theta,
                      double position_scale, double direction, float* __restrict__ cos_table,
                      float* __restrict__ sin_table) {
  for (int64_t at = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; at < steps * half;
       at += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = at / half, i = at % half;
    const double pos = static_cast<double>(positions[t]) / position_scale;
    const double inv_freq = 1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(2 * half));
    const double angle = pos * inv_freq;
    cos_table[at] = static_cast<float>(cos(angle));
    sin_table[at] = static_cast<float>(direction * sin(angle));
  }
}

// y (rows, 2 * half) from x: (a, b) = (x[i], x[i + half]) -> (a c - b s, b c + a s), with c, s
// the table entries of the row's time step row % steps; each thread one unit of kWidth pairs.
template <typename T, int kWidth>
__global__ void __launch_bounds__(kThreads)
    rope_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t steps, int64_t half,
                const float* __restrict__ cos_table, const float* __restrict__ sin_table) {
  const int64_t unit = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (unit * kWidth >= half) return;
  const int64_t i = unit * kWidth;
  for (int64_t row = blockIdx.y * int64_t{blockDim.y} + threadIdx.y; row < rows;
       row += int64_t{gridDim.y} * blockDim.y) {
    const int64_t at = (row % steps) * half + i;
    float c[kWidth], s[kWidth], a[kWidth], b[kWidth];
    load_floats<kWidth>(cos_table + at, c);
    load_floats<kWidth>(sin_table + at, s);
    const T* xr = x + row * 2 * half;
    load_chunk<kWidth>(xr + i, a);
    load_chunk<kWidth>(xr + half + i, b);
    float lo[kWidth], hi[kWidth];
#pragma unroll
    for (int j = 0; j < kWidth; ++j) {
      lo[j] = a[j] * c[j] - b[j] * s[j];
      hi[j] = b[j] * c[j] + a[j] * s[j];
    }
    T* yr = y + row * 2 * half;
    store_chunk<kWidth>(yr + i, lo);
    store_chunk<kWidth>(yr + half + i, hi);
  }
}

void check_scratch(const char* op, const void* scratch) {
  if (!aligned16(scratch)) throw std::invalid_argument(std::string(op) + ": scratch is not 16-byte aligned");
}

}  // namespace

void embedding(DType dtype, const void* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, void* out,
               cudaStream_t stream) {
  if (n == 0 || dim == 0) return;
  const int64_t row_bytes = dim * static_cast<int64_t>(dtype_size(dtype));
  auto aligned = [&](uintptr_t bytes) {
    return row_bytes % static_cast<int64_t>(bytes) == 0 && reinterpret_cast<uintptr_t>(weight) % bytes == 0 &&
           reinterpret_cast<uintptr_t>(out) % bytes == 0;
  };
  if (aligned(16))
    launch_embedding<uint4>(weight, vocab, row_bytes, ids, n, out, stream);
  else if (aligned(4))
    launch_embedding<uint32_t>(weight, vocab, row_bytes, ids, n, out, stream);
  else if (aligned(2))
    launch_embedding<uint16_t>(weight, vocab, row_bytes, ids, n, out, stream);
  else
    launch_embedding<uint8_t>(weight, vocab, row_bytes, ids, n, out, stream);
}

size_t embedding_backward_scratch_bytes(int64_t n, int64_t vocab, int64_t dim) {
  if (n == 0 || vocab == 0 || dim == 0) return 0;
  return backward_scratch(n, vocab, dim, nullptr).total_bytes;
}

void embedding_backward(DType dtype, const int32_t* ids, int64_t n, const void* dy, int64_t vocab, int64_t dim,
                        void* dweight, void* scratch, cudaStream_t stream) {
  if (vocab == 0 || dim == 0) return;
  if (n > INT_MAX || vocab > INT_MAX)
    throw std::invalid_argument("embedding_backward: " + std::to_string(n) + " ids or vocabulary " +
                                std::to_string(vocab) + " exceed 2^31 - 1");
  HANVIT_CUDA_CHECK(cudaMemsetAsync(dweight, 0, static_cast<size_t>(vocab * dim) * dtype_size(dtype), stream));
  if (n == 0) return;
  check_scratch("embedding_backward", scratch);
  const BackwardScratch s = backward_scratch(n, vocab, dim, scratch);
  const uint32_t key_limit = static_cast<uint32_t>(vocab);
  sort_keys_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(ids, n, key_limit, s.keys[0], s.positions[0]);
  HANVIT_CUDA_CHECK_LAUNCH("sort_keys_kernel");
  cub::DoubleBuffer<uint32_t> keys(s.keys[0], s.keys[1]);
  cub::DoubleBuffer<int32_t> positions(s.positions[0], s.positions[1]);
  size_t sort_bytes = s.sort_bytes;
  HANVIT_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(s.sort_storage, sort_bytes, keys, positions, static_cast<int>(n), 0,
                                                    key_bits(vocab), stream));
  HANVIT_DISPATCH_FLOAT(dtype, "embedding_backward", T, {
    if (dim % kVec<T> == 0 && aligned16(dy) && aligned16(dweight))
      launch_run_sums<T, kVec<T>>(s, keys.Current(), positions.Current(), n, dy, key_limit, dim, dweight, stream);
    else
      launch_run_sums<T, 1>(s, keys.Current(), positions.Current(), n, dy, key_limit, dim, dweight, stream);
  });
}

size_t rope_scratch_bytes(int64_t steps, int64_t D) {
  return 2 * align_up(static_cast<size_t>(steps * (D / 2)) * sizeof(float));
}

void rope(DType dtype, const void* x, void* y, int64_t batch, int64_t heads, int64_t steps, int64_t D,
          const int32_t* positions, double theta, double position_scale, bool inverse, void* scratch,
          cudaStream_t stream) {
  const int64_t half = D / 2, rows = batch * heads * steps;
  if (rows == 0 || half == 0) return;
  check_scratch("rope", scratch);
  float* cos_table = static_cast<float*>(scratch);
  float* sin_table = cos_table + align_up(static_cast<size_t>(steps * half) * sizeof(float)) / sizeof(float);
  rope_table_kernel<<<grid_for(steps * half, kThreads), kThreads, 0, stream>>>(
      positions, steps, half, theta, position_scale, inverse ? -1.0 : 1.0, cos_table, sin_table);
  HANVIT_CUDA_CHECK_LAUNCH("rope_table_kernel");
  HANVIT_DISPATCH_FLOAT(dtype, "rope", T, {
    auto launch = [&]<int kWidth>() {
      const RowUnitsLaunch l = row_units_launch(rows, half / kWidth);
      rope_kernel<T, kWidth><<<l.grid, l.block, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), rows, steps,
                                                             half, cos_table, sin_table);
      HANVIT_CUDA_CHECK_LAUNCH("rope_kernel");
    };
    if (half % kVec<T> == 0 && aligned16(x) && aligned16(y))
      launch.template operator()<kVec<T>>();
    else
      launch.template operator()<1>();
  });
}

}  // namespace hanvit::cuda
