// Layer norm and RMS norm kernels: rows per lane group or block, f32 two-pass statistics, weight
// gradients summed per block and then over blocks in a fixed order.
#include <algorithm>
#include <initializer_list>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/norm.h"

namespace hanvit::cuda {
namespace {

// Row layouts: a row of c <= kSmallRow elements belongs to 8 lanes of a warp, c <= kWarpRow to a
// warp (both "row groups"; a block holds several), a longer row to a whole block.
constexpr int64_t kSmallRow = 256;
constexpr int64_t kWarpRow = 1024;
constexpr int kGroupElems = 32;  // elements per thread of a row group, held in registers
constexpr int kBlockElems = 16;  // elements per thread of a block row held in registers
constexpr int kMinBlockThreads = 128, kMaxBlockThreads = 512;
constexpr int kForwardGroupThreads = 256;   // block size of the row-group kernels: forward,
constexpr int kBackwardGroupThreads = 128;  // backward (shared gradient sums: 32 KiB at most)
constexpr int kBackwardGroupBlocksPerSm = 4;
constexpr int kSumColumns = 32, kSumSlices = 16;  // block of the partial-sum kernel
constexpr int kSumThreads = kSumColumns * kSumSlices;

// The threads that share one row: kGroup consecutive lanes of a warp, or the block (kGroup 0).
template <int kGroup>
struct RowGroup {
  __device__ static int size() { return kGroup > 0 ? kGroup : static_cast<int>(blockDim.x); }
  __device__ static int rank() { return static_cast<int>(kGroup > 0 ? threadIdx.x % kGroup : threadIdx.x); }
  __device__ static int index() { return static_cast<int>(kGroup > 0 ? threadIdx.x / kGroup : 0); }
  __device__ static int per_block() { return kGroup > 0 ? static_cast<int>(blockDim.x) / kGroup : 1; }
  // Sum over the group, returned to all its threads. Every thread of the block calls it
  // together (full-warp shuffles, block barriers); `scratch` is 32 floats of shared memory.
  __device__ static float sum(float v, float* scratch) {
    if constexpr (kGroup > 0) {
#pragma unroll
      for (int offset = kGroup / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
      return v;
    } else {
      return block_sum(v, scratch);
    }
  }
};

// Calls fn(k, e) for this thread's chunks of kWidth elements of a row of `chunks` chunks: chunk
// j = k * threads + rank starts at element e = j * kWidth. With kChunks > 0 the row has at most
// kChunks * threads chunks and k is a compile-time slot; kChunks == 0 loops (k is 0).
template <int kWidth, int kChunks, typename Fn>
__device__ __forceinline__ void for_chunks(int64_t chunks, int rank, int threads, Fn&& fn) {
  if constexpr (kChunks > 0) {
#pragma unroll
    for (int k = 0; k < kChunks; ++k) {
      const int j = k * threads + rank;  // held rows are short: int arithmetic
      if (j < chunks) fn(k, static_cast<int64_t>(j * kWidth));
    }
  } else {
    for (int64_t j = rank; j < chunks; j += threads) fn(0, j * kWidth);
  }
}

// kWidth elements at p as f32: one 16-byte vector (kWidth == kVec<T>) or one element.
template <int kWidth, typename T>
__device__ __forceinline__ void load_chunk(const T* p, float (&v)[kWidth]) {
  if constexpr (kWidth == 1) {
    v[0] = to_f32(*p);
  } else {
    static_assert(kWidth == kVec<T>, "a row chunk is one element or one 16-byte vector");
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
    static_assert(kWidth == kVec<T>, "a row chunk is one element or one 16-byte vector");
    Vec<T> out;
#pragma unroll
    for (int i = 0; i < kWidth; ++i) out.v[i] = from_f32<T>(v[i]);
    store_vec(p, out);
  }
}

// This thread's part of one row: held in registers (kChunks > 0) or read again at each get.
template <typename T, int kWidth, int kChunks>
struct RowPart {
  const T* row;
  float held[kChunks > 0 ? kChunks : 1][kWidth];

  __device__ __forceinline__ void load(int64_t chunks, int rank, int threads) {
    if constexpr (kChunks > 0)
      for_chunks<kWidth, kChunks>(chunks, rank, threads,
                                  [&](int k, int64_t e) { load_chunk<kWidth>(row + e, held[k]); });
  }
  __device__ __forceinline__ void get(int k, int64_t e, float (&v)[kWidth]) const {
    if constexpr (kChunks > 0) {
#pragma unroll
      for (int i = 0; i < kWidth; ++i) v[i] = held[k][i];
    } else {
      load_chunk<kWidth>(row + e, v);
    }
  }
};

// A row's statistics. Layer norm works on x - shift with shift the row's first element: that
// difference is exact for x near the shift, so a mean far from 0 compared with the spread (x +
// 1000) costs no precision, as the double sums of cpu::layer_norm_f32. RMS norm: shift = mean = 0.
struct RowStats {
  float shift;
  float mean;  // of x - shift
  float rstd;  // 1 / sqrt(mean((x - shift - mean)^2) + eps)

  __device__ __forceinline__ float normalized(float x) const { return ((x - shift) - mean) * rstd; }
};

// The statistics of the row x in two f32 passes. Threads past the last row pass chunks == 0
// and take part in the group sums.
template <bool kLayer, int kGroup, int kWidth, int kChunks, typename T>
__device__ __forceinline__ RowStats row_stats(const RowPart<T, kWidth, kChunks>& x, int64_t chunks, int64_t c,
                                              float eps, float* scratch) {
  using Group = RowGroup<kGroup>;
  const int rank = Group::rank(), threads = Group::size();
  float shift = 0.0f, mean = 0.0f;
  if constexpr (kLayer) {
    if (chunks > 0) shift = to_f32(x.row[0]);
    float sum = 0.0f;
    for_chunks<kWidth, kChunks>(chunks, rank, threads, [&](int k, int64_t e) {
      float v[kWidth];
      x.get(k, e, v);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) sum += v[i] - shift;
    });
    mean = Group::sum(sum, scratch) / static_cast<float>(c);
  }
  float squares = 0.0f;
  for_chunks<kWidth, kChunks>(chunks, rank, threads, [&](int k, int64_t e) {
    float v[kWidth];
    x.get(k, e, v);
#pragma unroll
    for (int i = 0; i < kWidth; ++i) {
      const float d = (v[i] - shift) - mean;
      squares += d * d;
    }
  });
  return {shift, mean, 1.0f / sqrtf(Group::sum(squares, scratch) / static_cast<float>(c) + eps)};
}

constexpr int max_threads(int group, bool backward) {
  return group == 0 ? kMaxBlockThreads : backward ? kBackwardGroupThreads : kForwardGroupThreads;
}

// y (rows, c) = ((x - shift) - mean) * rstd * weight [+ bias] for x (rows, c). Group kernels: each group
// of the block takes one row per step; block kernels: the block takes one row per step.
template <typename T, bool kLayer, int kWidth, int kChunks, int kGroup>
__global__ void __launch_bounds__(max_threads(kGroup, false), 1)
    norm_forward_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                        T* __restrict__ y, int64_t rows, int64_t c, float eps) {
  using Group = RowGroup<kGroup>;
  __shared__ float reduce_scratch[32];
  const int rank = Group::rank(), threads = Group::size();
  const int64_t per_block = Group::per_block();
  for (int64_t base = blockIdx.x * per_block; base < rows; base += gridDim.x * per_block) {
    const int64_t row = base + Group::index();
    const int64_t chunks = row < rows ? c / kWidth : 0;
    RowPart<T, kWidth, kChunks> xr{x + row * c};
    xr.load(chunks, rank, threads);
    const RowStats st = row_stats<kLayer, kGroup>(xr, chunks, c, eps, reduce_scratch);
    T* yr = y + row * c;
    for_chunks<kWidth, kChunks>(chunks, rank, threads, [&](int k, int64_t e) {
      float v[kWidth], w[kWidth], b[kWidth];
      xr.get(k, e, v);
      load_chunk<kWidth>(weight + e, w);
      if constexpr (kLayer) load_chunk<kWidth>(bias + e, b);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) {
        v[i] = st.normalized(v[i]) * w[i];
        if constexpr (kLayer) v[i] += b[i];
      }
      store_chunk<kWidth>(yr + e, v);
    });
  }
}

// dx (rows, c) from x, dy (rows, c) and weight (c); block b takes rows [rows * b / grid,
// rows * (b + 1) / grid) and writes its sums of dy * xhat (and dy) per column to partials
// (grid, kSums, c). Where the sums build up: group kernels in shared memory, one (kSums,
// kGroupElems * kGroup) slice per group, thread-major so lanes do not share banks; block kernels
// holding rows in registers; block kernels re-reading rows in their partials row.
template <typename T, bool kLayer, int kWidth, int kChunks, int kGroup>
__global__ void __launch_bounds__(max_threads(kGroup, true), 1)
    norm_backward_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ dy,
                         T* __restrict__ dx, float* __restrict__ partials, int64_t rows, int64_t c, float eps) {
  using Group = RowGroup<kGroup>;
  constexpr int kSums = kLayer ? 2 : 1;  // dweight, dbias
  constexpr int kGroupSlots = kGroupElems * (kGroup > 0 ? kGroup : 1);
  constexpr int kHeld = kGroup == 0 && kChunks > 0 ? kChunks : 1;
  __shared__ float reduce_scratch[32];
  __shared__ float group_sums[kGroup > 0 ? kBackwardGroupThreads / kGroup * kSums * kGroupSlots : 1];
  const int rank = Group::rank(), threads = Group::size();
  const int64_t row_chunks = c / kWidth;
  float* part = partials + blockIdx.x * kSums * c;  // (kSums, c)
  float* my_sums = group_sums + Group::index() * kSums * kGroupSlots;
  float held_sums[kSums][kHeld][kWidth];

  if constexpr (kGroup > 0) {
    for (int i = threadIdx.x; i < kBackwardGroupThreads / kGroup * kSums * kGroupSlots; i += blockDim.x)
      group_sums[i] = 0.0f;
    __syncthreads();
  } else if constexpr (kChunks > 0) {
#pragma unroll
    for (int s = 0; s < kSums; ++s)
#pragma unroll
      for (int k = 0; k < kHeld; ++k)
#pragma unroll
        for (int i = 0; i < kWidth; ++i) held_sums[s][k][i] = 0.0f;
  } else {
    for_chunks<kWidth, 0>(row_chunks, rank, threads, [&](int, int64_t e) {
      for (int s = 0; s < kSums; ++s)
#pragma unroll
        for (int i = 0; i < kWidth; ++i) part[s * c + e + i] = 0.0f;
    });
  }
  // Adds dy * xhat (and dy) of element i of chunk (k, e) to this thread's sums.
  auto add_sums = [&](int k, int64_t e, int i, float dw, float db) {
    if constexpr (kGroup > 0) {
      const int slot = (k * kWidth + i) * kGroup + rank;
      my_sums[slot] += dw;
      if constexpr (kLayer) my_sums[kGroupSlots + slot] += db;
    } else if constexpr (kChunks > 0) {
      held_sums[0][k][i] += dw;
      if constexpr (kLayer) held_sums[1][k][i] += db;
    } else {
      part[e + i] += dw;
      if constexpr (kLayer) part[c + e + i] += db;
    }
  };

  const int64_t begin = rows * blockIdx.x / gridDim.x, end = rows * (blockIdx.x + 1) / gridDim.x;
  for (int64_t base = begin; base < end; base += Group::per_block()) {
    const int64_t row = base + Group::index();
    const int64_t chunks = row < end ? row_chunks : 0;
    RowPart<T, kWidth, kChunks> xr{x + row * c}, dyr{dy + row * c};
    xr.load(chunks, rank, threads);
    dyr.load(chunks, rank, threads);
    const RowStats st = row_stats<kLayer, kGroup>(xr, chunks, c, eps, reduce_scratch);
    // g = dy * weight, xhat = ((x - shift) - mean) * rstd
    float sum_g = 0.0f, sum_gx = 0.0f;
    for_chunks<kWidth, kChunks>(chunks, rank, threads, [&](int k, int64_t e) {
      float v[kWidth], d[kWidth], w[kWidth];
      xr.get(k, e, v);
      dyr.get(k, e, d);
      load_chunk<kWidth>(weight + e, w);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) {
        const float g = d[i] * w[i];
        sum_g += g;
        sum_gx += g * st.normalized(v[i]);
      }
    });
    float mean_g = 0.0f;
    if constexpr (kLayer) mean_g = Group::sum(sum_g, reduce_scratch) / static_cast<float>(c);
    const float mean_gx = Group::sum(sum_gx, reduce_scratch) / static_cast<float>(c);
    T* dxr = dx + row * c;
    for_chunks<kWidth, kChunks>(chunks, rank, threads, [&](int k, int64_t e) {
      float v[kWidth], d[kWidth], w[kWidth];
      xr.get(k, e, v);
      dyr.get(k, e, d);
      load_chunk<kWidth>(weight + e, w);
#pragma unroll
      for (int i = 0; i < kWidth; ++i) {
        const float xhat = st.normalized(v[i]);
        add_sums(k, e, i, d[i] * xhat, d[i]);
        v[i] = st.rstd * (d[i] * w[i] - mean_g - xhat * mean_gx);
      }
      store_chunk<kWidth>(dxr + e, v);
    });
  }

  if constexpr (kGroup > 0) {
    // Slot (k * kWidth + i) * kGroup + r of every group is column (k * kGroup + r) * kWidth + i.
    __syncthreads();
    const int groups = Group::per_block();
    for (int slot = threadIdx.x; slot < kGroupSlots; slot += blockDim.x) {
      const int r = slot % kGroup, q = slot / kGroup;
      const int64_t column = (static_cast<int64_t>(q / kWidth) * kGroup + r) * kWidth + q % kWidth;
      if (column >= c) continue;
      for (int s = 0; s < kSums; ++s) {
        float total = 0.0f;
        for (int g = 0; g < groups; ++g) total += group_sums[(g * kSums + s) * kGroupSlots + slot];
        part[s * c + column] = total;
      }
    }
  } else if constexpr (kChunks > 0) {
    for_chunks<kWidth, kChunks>(row_chunks, rank, threads, [&](int k, int64_t e) {
#pragma unroll
      for (int s = 0; s < kSums; ++s)
#pragma unroll
        for (int i = 0; i < kWidth; ++i) part[s * c + e + i] = held_sums[s][k][i];
    });
  }
}

// dweight (c) [, dbias (c)] = partials (count, width) summed over count in a fixed order, with
// columns [0, c) going to dweight and [c, 2c) to dbias (width = c or 2c). threadIdx.y sums a
// fixed slice of the partials, then the slices are added in order.
template <typename T>
__global__ void __launch_bounds__(kSumThreads)
    sum_partials_kernel(const float* __restrict__ partials, int64_t count, int64_t width, int64_t c,
                        T* __restrict__ dweight, T* __restrict__ dbias) {
  __shared__ float slice_totals[kSumSlices][kSumColumns];
  const int64_t first = count * threadIdx.y / kSumSlices, last = count * (threadIdx.y + 1) / kSumSlices;
  for (int64_t tile = blockIdx.x * int64_t{kSumColumns}; tile < width; tile += gridDim.x * int64_t{kSumColumns}) {
    const int64_t column = tile + threadIdx.x;
    float total = 0.0f;
    if (column < width) {
#pragma unroll 4
      for (int64_t b = first; b < last; ++b) total += partials[b * width + column];
    }
    slice_totals[threadIdx.y][threadIdx.x] = total;
    __syncthreads();
    if (threadIdx.y == 0 && column < width) {
      total = 0.0f;
#pragma unroll
      for (int s = 0; s < kSumSlices; ++s) total += slice_totals[s][threadIdx.x];
      if (column < c)
        dweight[column] = from_f32<T>(total);
      else
        dbias[column - c] = from_f32<T>(total);
    }
    __syncthreads();
  }
}

// The threads that share a row and whether rows stay in registers, from the row width.
struct RowPlan {
  int group;    // 8 or 32 lanes per row, or 0: a block per row
  int threads;  // block size
  bool held;    // rows held in registers between passes
};

RowPlan plan_rows(int64_t c, bool backward) {
  if (c <= kWarpRow) return {c <= kSmallRow ? 8 : 32, backward ? kBackwardGroupThreads : kForwardGroupThreads, true};
  const int64_t warps = (c + int64_t{kBlockElems} * 32 - 1) / (int64_t{kBlockElems} * 32);
  const int64_t threads = std::clamp<int64_t>(warps * 32, kMinBlockThreads, kMaxBlockThreads);
  return {0, static_cast<int>(threads), c <= int64_t{kBlockElems} * kMaxBlockThreads};
}

// Blocks of a backward launch (each writes one partial row): about one wave of the device.
int64_t backward_blocks(int64_t rows, int64_t c, int multiprocessors) {
  if (rows == 0) return 0;
  const RowPlan plan = plan_rows(c, true);
  const int64_t sms = std::max(multiprocessors, 1);
  if (plan.group > 0) {
    const int64_t per_block = plan.threads / plan.group;
    return std::min((rows + per_block - 1) / per_block, sms * kBackwardGroupBlocksPerSm);
  }
  return std::min(rows, sms * std::max(1, kMaxBlockThreads / plan.threads));
}

// Calls launch.template operator()<kChunks, kGroup>() for the kernel variant of `plan`. Block
// rows read one element at a time (a fallback) are re-read rather than held: holding 16 of
// them costs too many registers.
template <int kWidth, typename Launch>
void with_row_variant(const RowPlan& plan, Launch&& launch) {
  if (plan.group == 8)
    launch.template operator()<kGroupElems / kWidth, 8>();
  else if (plan.group == 32)
    launch.template operator()<kGroupElems / kWidth, 32>();
  else if (kWidth > 1 && plan.held)
    launch.template operator()<(kWidth > 1 ? kBlockElems / kWidth : 0), 0>();
  else
    launch.template operator()<0, 0>();
}

// Calls launch.template operator()<kWidth>() with 16-byte vectors when the row width and every
// pointer allow them, else one element at a time.
template <typename T, typename Launch>
void with_width(int64_t c, std::initializer_list<const void*> pointers, Launch&& launch) {
  bool vector = c % kVec<T> == 0;
  for (const void* p : pointers) vector = vector && (p == nullptr || aligned16(p));
  if (vector)
    launch.template operator()<kVec<T>>();
  else
    launch.template operator()<1>();
}

template <typename T, bool kLayer>
void norm_forward(const void* x, const void* weight, const void* bias, void* y, int64_t rows, int64_t c, double eps,
                  cudaStream_t stream) {
  if (rows == 0 || c == 0) return;
  const RowPlan plan = plan_rows(c, false);
  const int64_t rows_per_block = plan.group > 0 ? plan.threads / plan.group : 1;
  const unsigned blocks = grid_for(rows, static_cast<int>(rows_per_block));
  with_width<T>(c, {x, weight, bias, y}, [&]<int kWidth>() {
    with_row_variant<kWidth>(plan, [&]<int kChunks, int kGroup>() {
      norm_forward_kernel<T, kLayer, kWidth, kChunks, kGroup><<<blocks, plan.threads, 0, stream>>>(
          static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), static_cast<T*>(y),
          rows, c, static_cast<float>(eps));
      HANVIT_CUDA_CHECK_LAUNCH("norm_forward_kernel");
    });
  });
}

template <typename T, bool kLayer>
void norm_backward(const void* x, const void* weight, const void* dy, void* dx, void* dweight, void* dbias,
                   int64_t rows, int64_t c, double eps, void* scratch, int multiprocessors, cudaStream_t stream) {
  if (c == 0) return;
  float* partials = static_cast<float*>(scratch);
  const int64_t blocks = backward_blocks(rows, c, multiprocessors);
  if (blocks > 0) {
    const RowPlan plan = plan_rows(c, true);
    with_width<T>(c, {x, weight, dy, dx}, [&]<int kWidth>() {
      with_row_variant<kWidth>(plan, [&]<int kChunks, int kGroup>() {
        norm_backward_kernel<T, kLayer, kWidth, kChunks, kGroup>
            <<<static_cast<unsigned>(blocks), plan.threads, 0, stream>>>(
                static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(dy), static_cast<T*>(dx),
                partials, rows, c, static_cast<float>(eps));
        HANVIT_CUDA_CHECK_LAUNCH("norm_backward_kernel");
      });
    });
  }
  const int64_t width = (kLayer ? 2 : 1) * c;
  sum_partials_kernel<T><<<grid_for(width, kSumColumns), dim3(kSumColumns, kSumSlices), 0, stream>>>(
      partials, blocks, width, c, static_cast<T*>(dweight), static_cast<T*>(dbias));
  HANVIT_CUDA_CHECK_LAUNCH("sum_partials_kernel");
}

}  // namespace

void layer_norm(DType dtype, const void* x, const void* weight, const void* bias, void* y, int64_t rows, int64_t c,
                double eps, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "layer_norm", T, { norm_forward<T, true>(x, weight, bias, y, rows, c, eps, stream); });
}

void rms_norm(DType dtype, const void* x, const void* weight, void* y, int64_t rows, int64_t c, double eps,
              cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "rms_norm", T, { norm_forward<T, false>(x, weight, nullptr, y, rows, c, eps, stream); });
}

size_t norm_backward_scratch_bytes(int64_t rows, int64_t c, bool layer, int multiprocessors) {
  return static_cast<size_t>(backward_blocks(rows, c, multiprocessors) * (layer ? 2 : 1) * c) * sizeof(float);
}

void layer_norm_backward(DType dtype, const void* x, const void* weight, const void* dy, void* dx, void* dweight,
                         void* dbias, int64_t rows, int64_t c, double eps, void* scratch, int multiprocessors,
                         cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "layer_norm_backward", T, {
    norm_backward<T, true>(x, weight, dy, dx, dweight, dbias, rows, c, eps, scratch, multiprocessors, stream);
  });
}

void rms_norm_backward(DType dtype, const void* x, const void* weight, const void* dy, void* dx, void* dweight,
                       int64_t rows, int64_t c, double eps, void* scratch, int multiprocessors, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "rms_norm_backward", T, {
    norm_backward<T, false>(x, weight, dy, dx, dweight, nullptr, rows, c, eps, scratch, multiprocessors, stream);
  });
}

}  // namespace hanvit::cuda
