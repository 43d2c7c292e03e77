// Softmax-family row kernels: a warp per short row, a block per long row; 16-byte packs stay in registers when the
// row fits, else an online max/sum pass precedes the write pass. Cross-entropy never stores probabilities.
#include <cmath>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/softmax.h"

namespace hanvit::cuda {
namespace {

constexpr int kWarpBlockThreads = 128;  // warp-per-row kernels: 4 rows per block
constexpr int kRowThreads = 512;        // block-per-row kernels
constexpr int kWideRowThreads = 1024;   // block-per-row normalising kernels that keep a long row in registers
constexpr int kCacheFloats = 32;        // values per thread and input kept in registers when the row fits
constexpr int kFinalThreads = 1024;     // the one-block label count / loss mean

// W elements of one row: a 16-byte vector (W = kVec<T>) or one element.
template <typename T, int W>
struct alignas(sizeof(T) * W) Pack {
  T v[W];
};

// The threads that share one row: a warp (kThreads 32, several rows per block) or the whole block.
template <int kThreads>
struct Team {
  static constexpr int kBlockThreads = kThreads == 32 ? kWarpBlockThreads : kThreads;
  static __device__ __forceinline__ int rank() { return kThreads == 32 ? threadIdx.x & 31 : threadIdx.x; }
  static __device__ __forceinline__ int64_t row() {
    return kThreads == 32 ? blockIdx.x * int64_t{kWarpBlockThreads / 32} + (threadIdx.x >> 5) : blockIdx.x;
  }
  // `shared`: 64 floats of shared memory (block teams only).
  static __device__ __forceinline__ float sum(float v, float* shared) {
    if constexpr (kThreads == 32) {
      return warp_sum(v);
    } else {
      return block_sum(v, shared);
    }
  }
  static __device__ __forceinline__ float max(float v, float* shared) {
    if constexpr (kThreads == 32) {
      return warp_max(v);
    } else {
      return block_max(v, shared);
    }
  }
};

// Online softmax statistics: the running max m and s = sum of exp(x - m). Before any finite value m = -inf and s = 0;
// a NaN input makes s NaN, which every merge keeps.
struct Stats {
  float m = -INFINITY;
  float s = 0.f;
};

template <int W>
__device__ __forceinline__ void update(Stats& st, const float (&v)[W]) {
  float m = st.m;
#pragma unroll
  for (int w = 0; w < W; ++w) m = v[w] > m || v[w] != v[w] ? v[w] : m;
  if (m == -INFINITY) return;
  float add = 0.f;
#pragma unroll
  for (int w = 0; w < W; ++w) add += __expf(v[w] - m);
  st.s = st.s * __expf(st.m - m) + add;
  st.m = m;
}

// Symmetric in a and b, so every lane of a butterfly ends with the same bits.
__device__ __forceinline__ void merge(Stats& a, const Stats& b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) {
    a.s += b.s;
    return;
  }
  a.s = a.s * __expf(a.m - m) + b.s * __expf(b.m - m);
  a.m = m;
}

__device__ __forceinline__ Stats warp_merge(Stats st) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    Stats other;
    other.m = __shfl_xor_sync(0xffffffffu, st.m, offset);
    other.s = __shfl_xor_sync(0xffffffffu, st.s, offset);
    merge(st, other);
  }
  return st;
}

// Every thread of the team gets the row's statistics. `shared`: 64 floats.
template <int kThreads>
__device__ __forceinline__ Stats team_merge(Stats st, float* shared) {
  st = warp_merge(st);
  if constexpr (kThreads == 32) {
    return st;
  } else {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // an earlier reduction may still read `shared`
    if (lane == 0) {
      shared[warp] = st.m;
      shared[32 + warp] = st.s;
    }
    __syncthreads();
    Stats mine;
    if (lane < kThreads / 32) {
      mine.m = shared[lane];
      mine.s = shared[32 + lane];
    }
    return warp_merge(mine);
  }
}

template <typename T, int W>
__device__ __forceinline__ void unpack(const Pack<T, W>& p, float (&v)[W]) {
#pragma unroll
  for (int w = 0; w < W; ++w) v[w] = to_f32(p.v[w]);
}

// ---- normalising ops: y_j = fn(x_j, j) from the row's max and sum of exp ----

struct SoftmaxOp {
  struct Fn {
    float m, inv_sum;
    __device__ __forceinline__ float operator()(float v, int64_t) const { return __expf(v - m) * inv_sum; }
  };
  __device__ __forceinline__ bool fills_row(int64_t, float&) const { return false; }
  __device__ __forceinline__ Fn row_fn(int64_t, float m, float s) const { return {m, 1.f / s}; }
};

struct LogSoftmaxOp {
  struct Fn {
    float m, log_sum;
    __device__ __forceinline__ float operator()(float v, int64_t) const { return (v - m) - log_sum; }
  };
  __device__ __forceinline__ bool fills_row(int64_t, float&) const { return false; }
  __device__ __forceinline__ Fn row_fn(int64_t, float m, float s) const { return {m, logf(s)}; }
};

// dlogits = scale * (p - (1 - eps) * onehot(label) - eps / classes); scale = dloss / count, on the device.
struct CrossEntropyGradOp {
  const int32_t* labels;
  int64_t classes, ignore_index;
  double eps;
  const double* scale;

  struct Fn {
    float m, a, b, c;
    int64_t label;
    __device__ __forceinline__ float operator()(float v, int64_t j) const {
      const float g = __expf(v - m) * a - b;
      return j == label ? g - c : g;
    }
  };
  // Ignored rows are 0; rows with a label outside [0, classes) are NaN.
  __device__ __forceinline__ bool fills_row(int64_t row, float& fill) const {
    const int64_t label = labels[row];
    if (label == ignore_index) {
      fill = 0.f;
      return true;
    }
    if (label < 0 || label >= classes) {
      fill = NAN;
      return true;
    }
    return false;
  }
  __device__ __forceinline__ Fn row_fn(int64_t row, float m, float s) const {
    const double sc = *scale;
    return {m, static_cast<float>(sc / s), static_cast<float>(sc * eps / static_cast<double>(classes)),
            static_cast<float>(sc * (1.0 - eps)), labels[row]};
  }
};

// x, y (rows, cols), cols % W == 0 and 16-byte aligned rows when W > 1. kPacks > 0: each thread keeps its at most
// kPacks packs of the row in registers (one read of x); kPacks == 0: an online statistics pass, then a write pass.
template <typename T, int W, int kThreads, int kPacks, typename Op>
__global__ void __launch_bounds__(Team<kThreads>::kBlockThreads)
    normalize_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols, Op op) {
  using P = Pack<T, W>;
  using Tm = Team<kThreads>;
  __shared__ float shared[64];
  const int64_t row = Tm::row();
  if (row >= rows) return;  // whole warps (warp teams) or whole blocks
  const int rank = Tm::rank();
  const int64_t packs = cols / W;
  const P* xr = reinterpret_cast<const P*>(x + row * cols);
  P* yr = reinterpret_cast<P*>(y + row * cols);
  float fill = 0.f;
  if (op.fills_row(row, fill)) {
    P out;
#pragma unroll
    for (int w = 0; w < W; ++w) out.v[w] = from_f32<T>(fill);
    for (int64_t i = rank; i < packs; i += kThreads) yr[i] = out;
    return;
  }
  if constexpr (kPacks > 0) {
    P cache[kPacks];
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < kPacks; ++k) {
      const int64_t i = rank + int64_t{k} * kThreads;
      if (i < packs) {
        cache[k] = xr[i];
#pragma unroll
        for (int w = 0; w < W; ++w) m = fmaxf(m, to_f32(cache[k].v[w]));
      }
    }
    m = Tm::max(m, shared);
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < kPacks; ++k) {
      if (rank + int64_t{k} * kThreads < packs) {
#pragma unroll
        for (int w = 0; w < W; ++w) s += __expf(to_f32(cache[k].v[w]) - m);
      }
    }
    s = Tm::sum(s, shared);
    const auto fn = op.row_fn(row, m, s);
#pragma unroll
    for (int k = 0; k < kPacks; ++k) {
      const int64_t i = rank + int64_t{k} * kThreads;
      if (i < packs) {
        P out;
#pragma unroll
        for (int w = 0; w < W; ++w) out.v[w] = from_f32<T>(fn(to_f32(cache[k].v[w]), i * W + w));
        yr[i] = out;
      }
    }
  } else {
    Stats st;
#pragma unroll 4
    for (int64_t i = rank; i < packs; i += kThreads) {
      float v[W];
      unpack(xr[i], v);
      update(st, v);
    }
    st = team_merge<kThreads>(st, shared);
    const auto fn = op.row_fn(row, st.m, st.s);
#pragma unroll 4
    for (int64_t i = rank; i < packs; i += kThreads) {
      float v[W];
      unpack(xr[i], v);
      P out;
#pragma unroll
      for (int w = 0; w < W; ++w) out.v[w] = from_f32<T>(fn(v[w], i * W + w));
      yr[i] = out;
    }
  }
}

// ---- backward ops: out_j = value(a_j, b_j, sum_j term(a_j, b_j)) ----

struct SoftmaxGradOp {  // a = y, b = dy
  static __device__ __forceinline__ float term(float y, float dy) { return y * dy; }
  static __device__ __forceinline__ float value(float y, float dy, float dot) { return y * (dy - dot); }
};

struct LogSoftmaxGradOp {  // a = y (log-probabilities), b = dy
  static __device__ __forceinline__ float term(float, float dy) { return dy; }
  static __device__ __forceinline__ float value(float y, float dy, float total) { return dy - __expf(y) * total; }
};

// a, b, out (rows, cols), as normalize_rows_kernel; kPacks > 0 keeps both inputs in registers.
template <typename T, int W, int kThreads, int kPacks, typename Op>
__global__ void __launch_bounds__(Team<kThreads>::kBlockThreads)
    dot_rows_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int64_t rows, int64_t cols) {
  using P = Pack<T, W>;
  using Tm = Team<kThreads>;
  __shared__ float shared[64];
  const int64_t row = Tm::row();
  if (row >= rows) return;
  const int rank = Tm::rank();
  const int64_t packs = cols / W;
  const P* ar = reinterpret_cast<const P*>(a + row * cols);
  const P* br = reinterpret_cast<const P*>(b + row * cols);
  P* outr = reinterpret_cast<P*>(out + row * cols);
  float s = 0.f;
  if constexpr (kPacks > 0) {
    P cache_a[kPacks], cache_b[kPacks];
#pragma unroll
    for (int k = 0; k < kPacks; ++k) {
      const int64_t i = rank + int64_t{k} * kThreads;
      if (i < packs) {
        cache_a[k] = ar[i];
        cache_b[k] = br[i];
#pragma unroll
        for (int w = 0; w < W; ++w) s += Op::term(to_f32(cache_a[k].v[w]), to_f32(cache_b[k].v[w]));
      }
    }
    s = Tm::sum(s, shared);
#pragma unroll
    for (int k = 0; k < kPacks; ++k) {
      const int64_t i = rank + int64_t{k} * kThreads;
      if (i < packs) {
        P o;
#pragma unroll
        for (int w = 0; w < W; ++w)
          o.v[w] = from_f32<T>(Op::value(to_f32(cache_a[k].v[w]), to_f32(cache_b[k].v[w]), s));
        outr[i] = o;
      }
    }
  } else {
#pragma unroll 4
    for (int64_t i = rank; i < packs; i += kThreads) {
      float va[W], vb[W];
      unpack(ar[i], va);
      unpack(br[i], vb);
#pragma unroll
      for (int w = 0; w < W; ++w) s += Op::term(va[w], vb[w]);
    }
    s = Tm::sum(s, shared);
#pragma unroll 4
    for (int64_t i = rank; i < packs; i += kThreads) {
      float va[W], vb[W];
      unpack(ar[i], va);
      unpack(br[i], vb);
      P o;
#pragma unroll
      for (int w = 0; w < W; ++w) o.v[w] = from_f32<T>(Op::value(va[w], vb[w], s));
      outr[i] = o;
    }
  }
}

// ---- cross-entropy ----

// row_loss[r] = (1 - eps) * (lse - x[label]) + eps * (lse - mean_j x_j) for logits (rows, classes) in one read of
// the row; 0 for ignored rows, NaN for labels outside [0, classes).
template <typename T, int W, int kThreads>
__global__ void __launch_bounds__(Team<kThreads>::kBlockThreads)
    cross_entropy_rows_kernel(const T* __restrict__ logits, const int32_t* __restrict__ labels, int64_t rows,
                              int64_t classes, int64_t ignore_index, double eps, float* __restrict__ row_loss) {
  using P = Pack<T, W>;
  using Tm = Team<kThreads>;
  __shared__ float shared[64];
  const int64_t row = Tm::row();
  if (row >= rows) return;
  const int rank = Tm::rank();
  const int64_t label = labels[row];
  if (label == ignore_index || label < 0 || label >= classes) {
    if (rank == 0) row_loss[row] = label == ignore_index ? 0.f : NAN;
    return;
  }
  const P* xr = reinterpret_cast<const P*>(logits + row * classes);
  const int64_t packs = classes / W;
  Stats st;
  float total = 0.f;
#pragma unroll 4
  for (int64_t i = rank; i < packs; i += kThreads) {
    float v[W];
    unpack(xr[i], v);
#pragma unroll
    for (int w = 0; w < W; ++w) total += v[w];
    update(st, v);
  }
  st = team_merge<kThreads>(st, shared);
  total = Tm::sum(total, shared);
  if (rank == 0) {
    const double lse = static_cast<double>(st.m) + log(static_cast<double>(st.s));
    double loss = (1.0 - eps) * (lse - static_cast<double>(to_f32(logits[row * classes + label])));
    if (eps != 0.0) loss += eps * (lse - static_cast<double>(total) / static_cast<double>(classes));
    row_loss[row] = static_cast<float>(loss);
  }
}

// Over one block of kFinalThreads, in a fixed order: the count of labels != ignore_index and, with row_loss, the sum
// of the row losses. Thread 0 gets the totals.
__device__ __forceinline__ void sum_rows(const float* __restrict__ row_loss, const int32_t* __restrict__ labels,
                                         int64_t rows, int64_t ignore_index, double& total, long long& count) {
  __shared__ double shared_total[kFinalThreads / 32];
  __shared__ long long shared_count[kFinalThreads / 32];
  total = 0.0;
  count = 0;
  for (int64_t r = threadIdx.x; r < rows; r += kFinalThreads) {
    if (row_loss) total += row_loss[r];
    count += labels[r] != ignore_index;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    total += __shfl_xor_sync(0xffffffffu, total, offset);
    count += __shfl_xor_sync(0xffffffffu, count, offset);
  }
  if (lane == 0) {
    shared_total[warp] = total;
    shared_count[warp] = count;
  }
  __syncthreads();
  if (warp == 0) {
    total = shared_total[lane];
    count = shared_count[lane];
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      total += __shfl_xor_sync(0xffffffffu, total, offset);
      count += __shfl_xor_sync(0xffffffffu, count, offset);
    }
  }
}

// loss = sum of row losses / count of non-ignored rows, 0 when every row is ignored.
__global__ void __launch_bounds__(kFinalThreads)
    cross_entropy_mean_kernel(const float* __restrict__ row_loss, const int32_t* __restrict__ labels, int64_t rows,
                              int64_t ignore_index, float* __restrict__ loss) {
  double total;
  long long count;
  sum_rows(row_loss, labels, rows, ignore_index, total, count);
  if (threadIdx.x == 0) *loss = count == 0 ? 0.f : static_cast<float>(total / static_cast<double>(count));
}

// scale = dloss / count of non-ignored rows, 0 when every row is ignored.
__global__ void __launch_bounds__(kFinalThreads)
    cross_entropy_scale_kernel(const int32_t* __restrict__ labels, int64_t rows, int64_t ignore_index,
                               const float* __restrict__ dloss, double* __restrict__ scale) {
  double total;
  long long count;
  sum_rows(nullptr, labels, rows, ignore_index, total, count);
  if (threadIdx.x == 0) *scale = count == 0 ? 0.0 : static_cast<double>(*dloss) / static_cast<double>(count);
}

// ---- launches ----

unsigned row_blocks(int64_t rows, int64_t rows_per_block) {
  return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block);
}

// Packs of W values a thread keeps in registers: kCacheFloats values, 8 single values for scalar rows.
template <int W>
constexpr int cache_packs() {
  return W > 1 ? kCacheFloats / W : 8;
}

// A warp per row (kept in registers) up to 32 * cache_packs packs; a block per row kept in registers up to
// kWideRowThreads * cache_packs packs (vector rows only: vocabulary rows up to 32K elements are read once);
// beyond, a block per row in two passes.
template <typename T, int W, typename Op>
void launch_normalize(const T* x, T* y, int64_t rows, int64_t cols, const Op& op, cudaStream_t stream) {
  constexpr int kPacks = cache_packs<W>();
  const int64_t packs = cols / W;
  if (packs <= 32 * kPacks) {
    normalize_rows_kernel<T, W, 32, kPacks, Op>
        <<<row_blocks(rows, kWarpBlockThreads / 32), kWarpBlockThreads, 0, stream>>>(x, y, rows, cols, op);
  } else if (W == 1 || packs > kWideRowThreads * kPacks) {
    normalize_rows_kernel<T, W, kRowThreads, 0, Op>
        <<<row_blocks(rows, 1), kRowThreads, 0, stream>>>(x, y, rows, cols, op);
  } else if constexpr (W > 1) {
    if (packs <= kRowThreads * kPacks) {
      normalize_rows_kernel<T, W, kRowThreads, kPacks, Op>
          <<<row_blocks(rows, 1), kRowThreads, 0, stream>>>(x, y, rows, cols, op);
    } else {
      normalize_rows_kernel<T, W, kWideRowThreads, kPacks, Op>
          <<<row_blocks(rows, 1), kWideRowThreads, 0, stream>>>(x, y, rows, cols, op);
    }
  }
  HANVIT_CUDA_CHECK_LAUNCH("normalize_rows_kernel");
}

template <typename T, typename Op>
void normalize(const void* x, void* y, int64_t rows, int64_t cols, const Op& op, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  const T* xs = static_cast<const T*>(x);
  T* ys = static_cast<T*>(y);
  if (cols % kVec<T> == 0 && aligned16(x) && aligned16(y)) {
    launch_normalize<T, kVec<T>>(xs, ys, rows, cols, op, stream);
  } else {
    launch_normalize<T, 1>(xs, ys, rows, cols, op, stream);
  }
}

template <typename T, int W, typename Op>
void launch_dot(const T* a, const T* b, T* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  constexpr int kPacks = cache_packs<W>();
  const int64_t packs = cols / W;
  if (packs <= 32 * kPacks) {
    dot_rows_kernel<T, W, 32, kPacks, Op>
        <<<row_blocks(rows, kWarpBlockThreads / 32), kWarpBlockThreads, 0, stream>>>(a, b, out, rows, cols);
  } else if (W == 1 || packs > kRowThreads * kPacks) {
    dot_rows_kernel<T, W, kRowThreads, 0, Op><<<row_blocks(rows, 1), kRowThreads, 0, stream>>>(a, b, out, rows, cols);
  } else if constexpr (W > 1) {
    dot_rows_kernel<T, W, kRowThreads, kPacks, Op>
        <<<row_blocks(rows, 1), kRowThreads, 0, stream>>>(a, b, out, rows, cols);
  }
  HANVIT_CUDA_CHECK_LAUNCH("dot_rows_kernel");
}

template <typename T, typename Op>
void dot(const void* a, const void* b, void* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  const T* as = static_cast<const T*>(a);
  const T* bs = static_cast<const T*>(b);
  T* outs = static_cast<T*>(out);
  if (cols % kVec<T> == 0 && aligned16(a) && aligned16(b) && aligned16(out)) {
    launch_dot<T, kVec<T>, Op>(as, bs, outs, rows, cols, stream);
  } else {
    launch_dot<T, 1, Op>(as, bs, outs, rows, cols, stream);
  }
}

template <typename T, int W>
void launch_cross_entropy_rows(const T* logits, const int32_t* labels, int64_t rows, int64_t classes,
                               int64_t ignore_index, double eps, float* row_loss, cudaStream_t stream) {
  if (classes / W <= 32 * cache_packs<W>()) {
    cross_entropy_rows_kernel<T, W, 32><<<row_blocks(rows, kWarpBlockThreads / 32), kWarpBlockThreads, 0, stream>>>(
        logits, labels, rows, classes, ignore_index, eps, row_loss);
  } else {
    cross_entropy_rows_kernel<T, W, kRowThreads>
        <<<row_blocks(rows, 1), kRowThreads, 0, stream>>>(logits, labels, rows, classes, ignore_index, eps, row_loss);
  }
  HANVIT_CUDA_CHECK_LAUNCH("cross_entropy_rows_kernel");
}

}  // namespace

void softmax(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "softmax", T, { normalize<T>(x, y, rows, cols, SoftmaxOp{}, stream); });
}

void log_softmax(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "log_softmax", T, { normalize<T>(x, y, rows, cols, LogSoftmaxOp{}, stream); });
}

void softmax_backward(DType dtype, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols,
                      cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "softmax_backward", T, { dot<T, SoftmaxGradOp>(y, dy, dx, rows, cols, stream); });
}

void log_softmax_backward(DType dtype, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols,
                          cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "log_softmax_backward", T, { dot<T, LogSoftmaxGradOp>(y, dy, dx, rows, cols, stream); });
}

size_t cross_entropy_scratch_bytes(int64_t rows) { return static_cast<size_t>(rows) * sizeof(float); }

void cross_entropy(DType dtype, const void* logits, const int32_t* labels, int64_t rows, int64_t classes,
                   int64_t ignore_index, double label_smoothing, float* loss, void* scratch, cudaStream_t stream) {
  float* row_loss = static_cast<float*>(scratch);
  if (rows > 0) {
    HANVIT_DISPATCH_FLOAT(dtype, "cross_entropy", T, {
      const T* x = static_cast<const T*>(logits);
      if (classes % kVec<T> == 0 && aligned16(logits)) {
        launch_cross_entropy_rows<T, kVec<T>>(x, labels, rows, classes, ignore_index, label_smoothing, row_loss,
                                              stream);
      } else {
        launch_cross_entropy_rows<T, 1>(x, labels, rows, classes, ignore_index, label_smoothing, row_loss, stream);
      }
    });
  }
  cross_entropy_mean_kernel<<<1, kFinalThreads, 0, stream>>>(row_loss, labels, rows, ignore_index, loss);
  HANVIT_CUDA_CHECK_LAUNCH("cross_entropy_mean_kernel");
}

size_t cross_entropy_backward_scratch_bytes() { return sizeof(double); }

void cross_entropy_backward(DType dtype, const void* logits, const int32_t* labels, int64_t rows, int64_t classes,
                            int64_t ignore_index, double label_smoothing, const float* dloss, void* dlogits,
                            void* scratch, cudaStream_t stream) {
  if (rows == 0 || classes == 0) return;
  auto* scale = static_cast<double*>(scratch);
  cross_entropy_scale_kernel<<<1, kFinalThreads, 0, stream>>>(labels, rows, ignore_index, dloss, scale);
  HANVIT_CUDA_CHECK_LAUNCH("cross_entropy_scale_kernel");
  const CrossEntropyGradOp op{labels, classes, ignore_index, label_smoothing, scale};
  HANVIT_DISPATCH_FLOAT(dtype, "cross_entropy_backward", T,
                        { normalize<T>(logits, dlogits, rows, classes, op, stream); });
}

}  // namespace hanvit::cuda
