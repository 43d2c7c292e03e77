// Reduction kernels: axes coalesce into (outer, reduced, inner) passes; rows reduce per warp or block, columns per
// thread or 2-D block; long groups split across blocks into partials that a second kernel combines in order. Sums
// accumulate in f64 (as the CPU kernels do: no cancellation error at f32 tolerances), max in f32.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/reduce.h"

namespace hanvit::cuda {
namespace {

constexpr int kBlockThreads = 256;  // every reduction kernel's block
constexpr int kRowsPerWarpBlock = kBlockThreads / 32;
constexpr int64_t kWarpRowMax = 1024;     // rows up to this long: one warp each; longer: one block each
constexpr int64_t kMinRowChunk = 8192;    // a long row splits into pieces of at least this many elements
constexpr int64_t kMinColumnChunk = 64;   // a long column splits into pieces of at least this many rows
constexpr int64_t kSerialColumnMax = 16;  // reduced sizes up to this: one thread per output column
constexpr int64_t kBlocksPerSm = 4;       // blocks wanted per multiprocessor before a group is split
constexpr size_t kScratchAlign = 256;

// ---- combine operations; intermediate results between kernels have the accumulator type ----

struct SumOp {
  using Acc = double;
  static __device__ __forceinline__ Acc init() { return 0.0; }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return a + b; }
  static __device__ __forceinline__ Acc finish(Acc a, double scale) { return a * scale; }
};

// NaN propagates: once an accumulator is NaN no comparison replaces it.
struct MaxOp {
  using Acc = float;
  static __device__ __forceinline__ Acc init() { return -INFINITY; }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return b > a || b != b ? b : a; }
  static __device__ __forceinline__ Acc finish(Acc a, double) { return a; }
};

// An element as a number: f64 intermediates stay f64, every other type widens to f32.
__device__ __forceinline__ double value_of(double x) { return x; }
template <typename In>
__device__ __forceinline__ float value_of(In x) {
  return to_f32(x);
}

template <typename Out, typename Acc>
__device__ __forceinline__ Out store_as(Acc a) {
  if constexpr (std::is_same_v<Out, Acc>) {
    return a;
  } else {
    return from_f32<Out>(static_cast<float>(a));
  }
}

template <typename Op>
__device__ __forceinline__ typename Op::Acc warp_reduce(typename Op::Acc v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = Op::combine(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Over a 1-D block of kBlockThreads; every thread gets the result. `shared` holds 32 accumulators.
template <typename Op>
__device__ __forceinline__ typename Op::Acc block_reduce(typename Op::Acc v, typename Op::Acc* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce<Op>(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < kBlockThreads / 32 ? shared[lane] : Op::init();
  return warp_reduce<Op>(v);
}

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// This thread's share of p[0, len) for a team of `threads` (rank in [0, threads), threads >= 32): a scalar head up
// to 16-byte alignment, 16-byte vectors, a scalar tail.
template <typename Op, typename In>
__device__ __forceinline__ typename Op::Acc accumulate_segment(const In* __restrict__ p, int64_t len, int rank,
                                                               int threads) {
  using Acc = typename Op::Acc;
  constexpr int kW = kVec<In>;
  Acc acc = Op::init();
  const int64_t misaligned = static_cast<int64_t>((reinterpret_cast<uintptr_t>(p) & 15u) / sizeof(In));
  const int64_t head = misaligned == 0 ? 0 : min64(len, kW - misaligned);
  if (rank < head) acc = Op::combine(acc, value_of(p[rank]));
  const In* body = p + head;
  const int64_t vectors = (len - head) / kW;
#pragma unroll 4
  for (int64_t v = rank; v < vectors; v += threads) {
    const Vec<In> pack = load_vec(body + v * kW);
#pragma unroll
    for (int w = 0; w < kW; ++w) acc = Op::combine(acc, value_of(pack.v[w]));
  }
  const int64_t tail = head + vectors * kW;
  if (rank < len - tail) acc = Op::combine(acc, value_of(p[tail + rank]));
  return acc;
}

// x (rows, cols) -> y (rows, chunks): item (row, c) reduces elements [c * chunk_len, (c + 1) * chunk_len) of its row,
// with a warp (kThreads 32, kRowsPerWarpBlock items per block) or the whole block (kThreads kBlockThreads).
template <typename Op, typename In, typename Out, int kThreads>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_rows_kernel(const In* __restrict__ x, Out* __restrict__ y, int64_t rows, int64_t cols, int64_t chunk_len,
                       int64_t chunks, double scale) {
  __shared__ typename Op::Acc shared[32];
  const int rank = kThreads == 32 ? threadIdx.x & 31 : threadIdx.x;
  const int64_t item = kThreads == 32 ? blockIdx.x * int64_t{kRowsPerWarpBlock} + (threadIdx.x >> 5) : blockIdx.x;
  if (item >= rows * chunks) return;  // whole warps (warp mode) or whole blocks
  const int64_t row = item / chunks, begin = item % chunks * chunk_len;
  auto acc = accumulate_segment<Op>(x + row * cols + begin, min64(chunk_len, cols - begin), rank, kThreads);
  acc = kThreads == 32 ? warp_reduce<Op>(acc) : block_reduce<Op>(acc, shared);
  if (rank == 0) y[item] = store_as<Out>(Op::finish(acc, scale));
}

// x (outer, reduced, inner) -> y (outer, inner): one thread per output, or per kVec consecutive outputs (kVector:
// inner % kVec == 0 and x 16-byte aligned), looping over the reduced rows.
template <typename Op, typename In, typename Out, bool kVector>
__global__ void __launch_bounds__(kBlockThreads, 1)
    reduce_columns_serial_kernel(const In* __restrict__ x, Out* __restrict__ y, int64_t outer, int64_t reduced,
                                 int64_t inner, double scale) {
  constexpr int kW = kVector ? kVec<In> : 1;
  const int64_t per_outer = inner / kW;
  const int64_t t = blockIdx.x * int64_t{kBlockThreads} + threadIdx.x;
  if (t >= outer * per_outer) return;
  const int64_t o = t / per_outer, col = t % per_outer * kW;
  const In* p = x + o * reduced * inner + col;
  typename Op::Acc acc[kW];
#pragma unroll
  for (int w = 0; w < kW; ++w) acc[w] = Op::init();
#pragma unroll 4
  for (int64_t m = 0; m < reduced; ++m) {
    if constexpr (kVector) {
      const Vec<In> pack = load_vec(p + m * inner);
#pragma unroll
      for (int w = 0; w < kW; ++w) acc[w] = Op::combine(acc[w], value_of(pack.v[w]));
    } else {
      acc[0] = Op::combine(acc[0], value_of(p[m * inner]));
    }
  }
  Out* out = y + o * inner + col;
#pragma unroll
  for (int w = 0; w < kW; ++w) out[w] = store_as<Out>(Op::finish(acc[w], scale));
}

// x (outer, reduced, inner) -> y (outer, chunks, inner). Block (bx, by), bx * by = kBlockThreads, covers bx * kVec
// columns of one (outer, chunk): thread (tx, ty) accumulates kVec columns (consecutive when kVector, else strided
// by bx) over rows ty, ty + by, ... of the chunk; the by partial rows then combine in a fixed tree.
template <typename Op, typename In, typename Out, bool kVector>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_columns_block_kernel(const In* __restrict__ x, Out* __restrict__ y, int64_t reduced, int64_t inner,
                                int64_t chunk_len, int64_t chunks, int64_t col_blocks, double scale) {
  using Acc = typename Op::Acc;
  constexpr int kW = kVec<In>;
  __shared__ Acc partial[kBlockThreads * kW];  // [w][ty][tx]
  const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x, by = blockDim.y;
  const int64_t item = blockIdx.x / col_blocks;  // (o, c)
  const int64_t o = item / chunks, c = item % chunks;
  const int64_t col0 = blockIdx.x % col_blocks * bx * kW;
  const int64_t m_end = min64(reduced, (c + 1) * chunk_len);
  const In* base = x + o * reduced * inner;
  Acc acc[kW];
#pragma unroll
  for (int w = 0; w < kW; ++w) acc[w] = Op::init();
  if constexpr (kVector) {
    const int64_t col = col0 + tx * kW;
    if (col < inner) {
#pragma unroll 4
      for (int64_t m = c * chunk_len + ty; m < m_end; m += by) {
        const Vec<In> pack = load_vec(base + m * inner + col);
#pragma unroll
        for (int w = 0; w < kW; ++w) acc[w] = Op::combine(acc[w], value_of(pack.v[w]));
      }
    }
  } else {
    for (int64_t m = c * chunk_len + ty; m < m_end; m += by) {
      const In* row = base + m * inner;
#pragma unroll
      for (int w = 0; w < kW; ++w) {
        const int64_t col = col0 + tx + w * bx;
        if (col < inner) acc[w] = Op::combine(acc[w], value_of(row[col]));
      }
    }
  }
#pragma unroll
  for (int w = 0; w < kW; ++w) partial[(w * by + ty) * bx + tx] = acc[w];
  __syncthreads();
  for (int s = by / 2; s > 0; s >>= 1) {
    if (ty < s) {
#pragma unroll
      for (int w = 0; w < kW; ++w) {
        Acc& a = partial[(w * by + ty) * bx + tx];
        a = Op::combine(a, partial[(w * by + ty + s) * bx + tx]);
      }
    }
    __syncthreads();
  }
  if (ty == 0) {
    Out* out = y + item * inner;
#pragma unroll
    for (int w = 0; w < kW; ++w) {
      const int64_t col = kVector ? col0 + tx * kW + w : col0 + tx + w * bx;
      if (col < inner) out[col] = store_as<Out>(Op::finish(partial[w * by * bx + tx], scale));
    }
  }
}

template <typename T>
__global__ void fill_kernel(T* __restrict__ y, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] = from_f32<T>(value);
}

// ---- max_backward ----

// The coalesced groups of a shape: sizes (no 1s) and whether each is reduced, outermost first.
struct Groups {
  int count = 0;
  int64_t sizes[kMaxRank] = {};
  bool reduced[kMaxRank] = {};
};

constexpr unsigned long long kNoIndex = ~0ull;

// first[o] = min over the elements i of group o that equal y[o] (or are NaN when y[o] is) of i's index within the
// group (row-major over the reduced dims). Integer atomicMin: the result does not depend on the order.
template <typename T, typename Index>
__global__ void mark_first_max_kernel(const T* __restrict__ x, const T* __restrict__ y, Groups groups, Index total,
                                      unsigned long long* __restrict__ first) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    Index rest = i, o = 0, m = 0, o_stride = 1, m_stride = 1;
#pragma unroll
    for (int g = kMaxRank - 1; g >= 0; --g) {  // constant indices keep `groups` out of local memory
      if (g >= groups.count) continue;
      const Index size = static_cast<Index>(groups.sizes[g]);
      const Index c = g == 0 ? rest : rest % size;
      rest /= size;
      if (groups.reduced[g]) {
        m += c * m_stride;
        m_stride *= size;
      } else {
        o += c * o_stride;
        o_stride *= size;
      }
    }
    const float target = to_f32(y[o]), v = to_f32(x[i]);
    if (v == target || (target != target && v != v)) atomicMin(first + o, static_cast<unsigned long long>(m));
  }
}

// dx[kept(o) + reduced(first[o])] = dy[o] for the groups that have a maximum (dx is already zero).
template <typename T>
__global__ void scatter_first_max_kernel(const T* __restrict__ dy, T* __restrict__ dx,
                                         const unsigned long long* __restrict__ first, int64_t outputs,
                                         StridedIndex kept, StridedIndex reduced) {
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < outputs; o += int64_t{gridDim.x} * blockDim.x) {
    const unsigned long long m = first[o];
    if (m != kNoIndex) dx[kept.offset(o) + reduced.offset(static_cast<int64_t>(m))] = dy[o];
  }
}

// ---- host planning ----

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
size_t align_up(size_t bytes) { return (bytes + kScratchAlign - 1) / kScratchAlign * kScratchAlign; }

unsigned blocks_for(int64_t work, int64_t per_block) {
  const int64_t blocks = ceil_div(work, per_block);
  if (blocks > 0x7fffffff)
    throw std::invalid_argument("CUDA reduction of " + std::to_string(work) + " items is too large");
  return static_cast<unsigned>(std::max<int64_t>(blocks, 1));
}

Groups coalesce(std::span<const int64_t> shape, std::span<const int> axes) {
  std::vector<bool> is_reduced(shape.size(), false);
  for (int a : axes) {
    if (a < 0 || static_cast<size_t>(a) >= shape.size())
      throw std::invalid_argument("CUDA reduction: axis " + std::to_string(a) + " out of range for rank " +
                                  std::to_string(shape.size()));
    is_reduced[static_cast<size_t>(a)] = true;
  }
  Groups groups;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (groups.count > 0 && groups.reduced[groups.count - 1] == is_reduced[d]) {
      groups.sizes[groups.count - 1] *= shape[d];
      continue;
    }
    if (groups.count == kMaxRank)
      throw std::invalid_argument("CUDA reduction: more than " + std::to_string(kMaxRank) + " alternating axis groups");
    groups.sizes[groups.count] = shape[d];
    groups.reduced[groups.count] = is_reduced[d];
    ++groups.count;
  }
  return groups;
}

enum class PassKind { rows_warp, rows_block, columns_serial, columns_block };

// One (outer, reduced, inner) reduction and how it runs. chunks > 1: the reduced extent is split into chunks of
// chunk_len, reduced into accumulator partials (rows: (outer, chunks); columns: (outer, chunks, inner)), then
// combined.
struct Pass {
  int64_t outer = 1, reduced = 1, inner = 1;
  PassKind kind = PassKind::rows_warp;
  int64_t chunks = 1, chunk_len = 1;
  int bx = 32, by = kBlockThreads / 32;  // columns_block
  int64_t col_blocks = 1;                // columns_block
  int64_t target_blocks = 1;

  int64_t partial_values() const { return chunks == 1 ? 0 : outer * chunks * inner; }
};

int pow2_at_least(int64_t n) {
  int p = 1;
  while (p < n && p < 32) p *= 2;
  return p;
}

Pass plan_rows(int64_t rows, int64_t cols, int64_t target_blocks, bool allow_split) {
  Pass pass;
  pass.outer = rows;
  pass.reduced = cols;
  pass.target_blocks = target_blocks;
  pass.kind = cols <= kWarpRowMax ? PassKind::rows_warp : PassKind::rows_block;
  pass.chunk_len = cols;
  if (allow_split && pass.kind == PassKind::rows_block && rows < target_blocks && cols >= 2 * kMinRowChunk) {
    const int64_t chunks = std::min(ceil_div(target_blocks, rows), ceil_div(cols, kMinRowChunk));
    pass.chunk_len = ceil_div(ceil_div(cols, chunks), 64) * 64;
    pass.chunks = ceil_div(cols, pass.chunk_len);
  }
  return pass;
}

// `vec_width`: the input's elements per 16 bytes.
Pass plan_columns(int64_t outer, int64_t reduced, int64_t inner, int vec_width, int64_t target_blocks,
                  bool allow_split) {
  Pass pass;
  pass.outer = outer;
  pass.reduced = reduced;
  pass.inner = inner;
  pass.target_blocks = target_blocks;
  pass.chunk_len = reduced;
  if (reduced <= kSerialColumnMax || outer * inner >= target_blocks * kBlockThreads) {
    pass.kind = PassKind::columns_serial;
    return pass;
  }
  pass.kind = PassKind::columns_block;
  pass.bx = pow2_at_least(ceil_div(inner, vec_width));
  pass.by = kBlockThreads / pass.bx;
  pass.col_blocks = ceil_div(inner, int64_t{pass.bx} * vec_width);
  const int64_t blocks = outer * pass.col_blocks;
  if (allow_split && blocks < target_blocks && reduced >= 2 * kMinColumnChunk) {
    const int64_t chunks = std::min(ceil_div(target_blocks, blocks), ceil_div(reduced, kMinColumnChunk));
    pass.chunk_len = ceil_div(reduced, chunks);
    pass.chunks = ceil_div(reduced, pass.chunk_len);
  }
  return pass;
}

// The whole reduction: passes over the reduced groups, largest first (the smallest intermediate), each writing
// accumulators (acc_bytes each) into one of two ping-pong buffers until the last writes y.
struct Plan {
  int64_t total = 1, outputs = 1, group = 1;
  size_t acc_bytes = 4;
  std::vector<Pass> passes;
  int64_t buffer_values[2] = {0, 0};
  int64_t partial_values = 0;

  size_t buffer_offset(int i) const { return i == 0 ? 0 : align_up(static_cast<size_t>(buffer_values[0]) * acc_bytes); }
  size_t partial_offset() const {
    return buffer_offset(1) + align_up(static_cast<size_t>(buffer_values[1]) * acc_bytes);
  }
  size_t scratch_bytes() const { return partial_offset() + align_up(static_cast<size_t>(partial_values) * acc_bytes); }
};

Plan make_plan(ReduceOp op, DType dtype, std::span<const int64_t> shape, std::span<const int> axes,
               int multiprocessors) {
  Plan plan;
  plan.acc_bytes = op == ReduceOp::max ? sizeof(MaxOp::Acc) : sizeof(SumOp::Acc);
  for (size_t d = 0; d < shape.size(); ++d) {
    plan.total *= shape[d];
    if (std::find(axes.begin(), axes.end(), static_cast<int>(d)) == axes.end()) {
      plan.outputs *= shape[d];
    } else {
      plan.group *= shape[d];
    }
  }
  if (plan.total == 0) return plan;
  Groups groups = coalesce(shape, axes);
  const int64_t target_blocks = kBlocksPerSm * std::max(multiprocessors, 1);
  std::vector<int64_t> sizes(groups.sizes, groups.sizes + groups.count);
  std::vector<bool> reduced(groups.reduced, groups.reduced + groups.count);
  while (true) {
    int pick = -1;
    for (int g = 0; g < static_cast<int>(sizes.size()); ++g)
      if (reduced[g] && (pick < 0 || sizes[g] >= sizes[pick])) pick = g;
    if (pick < 0) break;
    int64_t outer = 1, inner = 1;
    for (int g = 0; g < pick; ++g) outer *= sizes[g];
    for (size_t g = static_cast<size_t>(pick) + 1; g < sizes.size(); ++g) inner *= sizes[g];
    const size_t in_bytes = plan.passes.empty() ? dtype_size(dtype) : plan.acc_bytes;
    plan.passes.push_back(
        inner == 1 ? plan_rows(outer, sizes[pick], target_blocks, true)
                   : plan_columns(outer, sizes[pick], inner, static_cast<int>(16 / in_bytes), target_blocks, true));
    sizes.erase(sizes.begin() + pick);
    reduced.erase(reduced.begin() + pick);
    if (pick > 0 && static_cast<size_t>(pick) < sizes.size()) {  // the kept neighbours merge
      sizes[pick - 1] *= sizes[pick];
      sizes.erase(sizes.begin() + pick);
      reduced.erase(reduced.begin() + pick);
    }
  }
  for (size_t p = 0; p < plan.passes.size(); ++p) {
    const Pass& pass = plan.passes[p];
    if (p + 1 < plan.passes.size())
      plan.buffer_values[p % 2] = std::max(plan.buffer_values[p % 2], pass.outer * pass.inner);
    plan.partial_values = std::max(plan.partial_values, pass.partial_values());
  }
  return plan;
}

// ---- launches ----

template <typename Op, typename In, typename Out>
void launch_rows(bool warp, const In* x, Out* y, int64_t rows, int64_t cols, int64_t chunk_len, int64_t chunks,
                 double scale, cudaStream_t stream) {
  const int64_t items = rows * chunks;
  if (warp) {
    reduce_rows_kernel<Op, In, Out, 32><<<blocks_for(items, kRowsPerWarpBlock), kBlockThreads, 0, stream>>>(
        x, y, rows, cols, chunk_len, chunks, scale);
  } else {
    reduce_rows_kernel<Op, In, Out, kBlockThreads>
        <<<blocks_for(items, 1), kBlockThreads, 0, stream>>>(x, y, rows, cols, chunk_len, chunks, scale);
  }
  HANVIT_CUDA_CHECK_LAUNCH("reduce_rows_kernel");
}

template <typename Op, typename In, typename Out>
void launch_columns_serial(const In* x, Out* y, int64_t outer, int64_t reduced, int64_t inner, double scale,
                           cudaStream_t stream) {
  if (inner % kVec<In> == 0 && aligned16(x)) {
    reduce_columns_serial_kernel<Op, In, Out, true>
        <<<blocks_for(outer * (inner / kVec<In>), kBlockThreads), kBlockThreads, 0, stream>>>(x, y, outer, reduced,
                                                                                              inner, scale);
  } else {
    reduce_columns_serial_kernel<Op, In, Out, false>
        <<<blocks_for(outer * inner, kBlockThreads), kBlockThreads, 0, stream>>>(x, y, outer, reduced, inner, scale);
  }
  HANVIT_CUDA_CHECK_LAUNCH("reduce_columns_serial_kernel");
}

template <typename Op, typename In, typename Out>
void launch_columns_block(const Pass& pass, const In* x, Out* y, double scale, cudaStream_t stream) {
  const dim3 block(static_cast<unsigned>(pass.bx), static_cast<unsigned>(pass.by));
  const unsigned grid = blocks_for(pass.outer * pass.chunks * pass.col_blocks, 1);
  if (pass.inner % kVec<In> == 0 && aligned16(x)) {
    reduce_columns_block_kernel<Op, In, Out, true><<<grid, block, 0, stream>>>(
        x, y, pass.reduced, pass.inner, pass.chunk_len, pass.chunks, pass.col_blocks, scale);
  } else {
    reduce_columns_block_kernel<Op, In, Out, false><<<grid, block, 0, stream>>>(
        x, y, pass.reduced, pass.inner, pass.chunk_len, pass.chunks, pass.col_blocks, scale);
  }
  HANVIT_CUDA_CHECK_LAUNCH("reduce_columns_block_kernel");
}

// One pass x (outer, reduced, inner) -> y (outer, inner), through `partial` when it is split.
template <typename Op, typename In, typename Out>
void run_pass(const Pass& pass, const In* x, Out* y, typename Op::Acc* partial, double scale, cudaStream_t stream) {
  using Acc = typename Op::Acc;
  const Acc* parts = partial;
  switch (pass.kind) {
    case PassKind::rows_warp:
    case PassKind::rows_block: {
      const bool warp = pass.kind == PassKind::rows_warp;
      if (pass.chunks == 1) {
        launch_rows<Op>(warp, x, y, pass.outer, pass.reduced, pass.reduced, 1, scale, stream);
        return;
      }
      launch_rows<Op>(warp, x, partial, pass.outer, pass.reduced, pass.chunk_len, pass.chunks, 1.0, stream);
      launch_rows<Op>(pass.chunks <= kWarpRowMax, parts, y, pass.outer, pass.chunks, pass.chunks, 1, scale, stream);
      return;
    }
    case PassKind::columns_serial:
      launch_columns_serial<Op>(x, y, pass.outer, pass.reduced, pass.inner, scale, stream);
      return;
    case PassKind::columns_block: {
      if (pass.chunks == 1) {
        launch_columns_block<Op>(pass, x, y, scale, stream);
        return;
      }
      launch_columns_block<Op>(pass, x, partial, 1.0, stream);
      const Pass combine = plan_columns(pass.outer, pass.chunks, pass.inner, kVec<Acc>, pass.target_blocks, false);
      if (combine.kind == PassKind::columns_serial) {
        launch_columns_serial<Op>(parts, y, combine.outer, combine.reduced, combine.inner, scale, stream);
      } else {
        launch_columns_block<Op>(combine, parts, y, scale, stream);
      }
      return;
    }
  }
}

template <typename Op, typename T>
void run_passes(const Plan& plan, const T* x, T* y, void* scratch, double scale, cudaStream_t stream) {
  using Acc = typename Op::Acc;
  char* base = static_cast<char*>(scratch);
  Acc* buffers[2] = {reinterpret_cast<Acc*>(base + plan.buffer_offset(0)),
                     reinterpret_cast<Acc*>(base + plan.buffer_offset(1))};
  Acc* partial = reinterpret_cast<Acc*>(base + plan.partial_offset());
  const size_t count = plan.passes.size();
  for (size_t p = 0; p < count; ++p) {
    const Pass& pass = plan.passes[p];
    const bool first = p == 0, last = p + 1 == count;
    const double pass_scale = last ? scale : 1.0;
    if (first && last) {
      run_pass<Op>(pass, x, y, partial, pass_scale, stream);
    } else if (first) {
      run_pass<Op>(pass, x, buffers[0], partial, pass_scale, stream);
    } else if (last) {
      run_pass<Op>(pass, static_cast<const Acc*>(buffers[(p - 1) % 2]), y, partial, pass_scale, stream);
    } else {
      run_pass<Op>(pass, static_cast<const Acc*>(buffers[(p - 1) % 2]), buffers[p % 2], partial, pass_scale, stream);
    }
  }
}

}  // namespace

size_t reduce_scratch_bytes(ReduceOp op, DType dtype, std::span<const int64_t> shape, std::span<const int> axes,
                            int multiprocessors) {
  return make_plan(op, dtype, shape, axes, multiprocessors).scratch_bytes();
}

void reduce(ReduceOp op, DType dtype, std::span<const int64_t> shape, std::span<const int> axes, const void* x, void* y,
            void* scratch, int multiprocessors, cudaStream_t stream) {
  const Plan plan = make_plan(op, dtype, shape, axes, multiprocessors);
  if (plan.outputs == 0) return;
  HANVIT_DISPATCH_FLOAT(dtype, "reduce", T, {
    if (plan.total == 0) {
      const float empty = op == ReduceOp::sum ? 0.f : op == ReduceOp::mean ? NAN : -INFINITY;
      fill_kernel<T><<<grid_for(plan.outputs, kBlockThreads), kBlockThreads, 0, stream>>>(static_cast<T*>(y),
                                                                                          plan.outputs, empty);
      HANVIT_CUDA_CHECK_LAUNCH("fill_kernel");
      return;
    }
    if (plan.passes.empty()) {  // every reduced dim has size 1: y is x
      HANVIT_CUDA_CHECK(
          cudaMemcpyAsync(y, x, static_cast<size_t>(plan.total) * sizeof(T), cudaMemcpyDeviceToDevice, stream));
      return;
    }
    const T* in = static_cast<const T*>(x);
    T* out = static_cast<T*>(y);
    if (op == ReduceOp::max) {
      run_passes<MaxOp>(plan, in, out, scratch, 1.0, stream);
    } else {
      const double scale = op == ReduceOp::mean ? 1.0 / static_cast<double>(plan.group) : 1.0;
      run_passes<SumOp>(plan, in, out, scratch, scale, stream);
    }
  });
}

size_t max_backward_scratch_bytes(std::span<const int64_t> shape, std::span<const int> axes) {
  int64_t outputs = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (std::find(axes.begin(), axes.end(), static_cast<int>(d)) == axes.end()) outputs *= shape[d];
  return static_cast<size_t>(outputs) * sizeof(unsigned long long);
}

void max_backward(DType dtype, std::span<const int64_t> shape, std::span<const int> axes, const void* x, const void* y,
                  const void* dy, void* dx, void* scratch, cudaStream_t stream) {
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  if (total == 0) return;
  const Groups groups = coalesce(shape, axes);
  // x strides of the groups, split into the kept and the reduced index spaces.
  std::vector<int64_t> kept_sizes, kept_strides, reduced_sizes, reduced_strides;
  int64_t stride = 1;
  for (int g = groups.count - 1; g >= 0; --g) {
    auto& sizes = groups.reduced[g] ? reduced_sizes : kept_sizes;
    auto& strides = groups.reduced[g] ? reduced_strides : kept_strides;
    sizes.insert(sizes.begin(), groups.sizes[g]);
    strides.insert(strides.begin(), stride);
    stride *= groups.sizes[g];
  }
  const StridedIndex kept = make_strided_index(kept_sizes, kept_strides);
  const StridedIndex reduced = make_strided_index(reduced_sizes, reduced_strides);
  int64_t outputs = 1;
  for (int64_t s : kept_sizes) outputs *= s;
  auto* first = static_cast<unsigned long long*>(scratch);
  HANVIT_DISPATCH_FLOAT(dtype, "max_backward", T, {
    HANVIT_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<size_t>(total) * sizeof(T), stream));
    HANVIT_CUDA_CHECK(cudaMemsetAsync(first, 0xff, static_cast<size_t>(outputs) * sizeof(unsigned long long), stream));
    const T* xs = static_cast<const T*>(x);
    const T* ys = static_cast<const T*>(y);
    if (total <= 0x7fffffffLL) {  // i + the grid stride stays below 2^32
      mark_first_max_kernel<T, uint32_t><<<grid_for(total, kBlockThreads), kBlockThreads, 0, stream>>>(
          xs, ys, groups, static_cast<uint32_t>(total), first);
    } else {
      mark_first_max_kernel<T, uint64_t><<<grid_for(total, kBlockThreads), kBlockThreads, 0, stream>>>(
          xs, ys, groups, static_cast<uint64_t>(total), first);
    }
    HANVIT_CUDA_CHECK_LAUNCH("mark_first_max_kernel");
    scatter_first_max_kernel<T><<<grid_for(outputs, kBlockThreads), kBlockThreads, 0, stream>>>(
        static_cast<const T*>(dy), static_cast<T*>(dx), first, outputs, kept, reduced);
    HANVIT_CUDA_CHECK_LAUNCH("scatter_first_max_kernel");
  });
}

}  // namespace hanvit::cuda
