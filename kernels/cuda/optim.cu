// Multi-tensor optimizer kernels over f32 device buffers: AdamW, SGD, sum of squares, scaling.
#include <array>
#include <cmath>
#include <stdexcept>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/optim.h"

namespace hanvit::cuda {
namespace {

constexpr int kMaxTensors = 64;  // tensors per launch
constexpr int kThreads = 256;
constexpr int kUnroll = 4;                                   // 16-byte vectors per thread and buffer
constexpr int64_t kChunk = int64_t{kThreads} * 4 * kUnroll;  // elements per block: 4096
// Chunks per launch, well inside the grid's 2^31 - 1 blocks; one tensor never has more (that
// would be 4.4e12 elements).
constexpr int kMaxChunksPerLaunch = 1 << 30;
constexpr int kSumThreads = 1024;  // the block adding the partial sums of squares

// The tensors of one launch, passed by value: kDepth buffers per tensor (e.g. param, grad,
// exp_avg, exp_avg_sq), their common size, two per-tensor constants (a parameter group's) and
// the first chunk (block) of each tensor; chunk_begin[count] is the launch's block count.
template <int kDepth>
struct TensorList {
  float* data[kDepth][kMaxTensors];
  int64_t n[kMaxTensors];
  float scalar[2][kMaxTensors];
  int chunk_begin[kMaxTensors + 1];
  int count;
};

// Fixed by the kernel parameter limit of 4 KiB (with room for the shared scalars).
static_assert(sizeof(TensorList<4>) <= 3584, "AdamW tensor list exceeds the kernel parameter space");

// One tensor handed to launch_lists.
template <int kDepth>
struct ListEntry {
  float* data[kDepth];
  int64_t n;
  float scalar[2];
};

// Elements [begin, end) of tensor `tensor`: the block's chunk.
struct ChunkRange {
  int tensor;
  int64_t begin, end;
};

template <int kDepth>
__device__ __forceinline__ ChunkRange locate_chunk(const TensorList<kDepth>& list) {
  const int chunk = static_cast<int>(blockIdx.x);
  int low = 0, high = list.count - 1;  // the last tensor whose first chunk is <= chunk
  while (low < high) {
    const int mid = (low + high + 1) >> 1;
    if (list.chunk_begin[mid] <= chunk)
      low = mid;
    else
      high = mid - 1;
  }
  const int64_t begin = static_cast<int64_t>(chunk - list.chunk_begin[low]) * kChunk;
  const int64_t end = begin + kChunk < list.n[low] ? begin + kChunk : list.n[low];
  return {low, begin, end};
}

__device__ __forceinline__ bool is_aligned16(const float* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Calls op(x) for every element of the chunk, x (kDepth) holding that element of each buffer;
// op updates x in place and the buffers whose bit is set in kStoreMask are written back. Each
// thread reads kUnroll 16-byte vectors of every buffer before computing when all the tensor's
// buffers are 16-byte aligned (chunks start at multiples of 4 elements), then does at most one
// element of the tensor's last n % 4; misaligned buffers go one float at a time.
template <int kDepth, unsigned kStoreMask, typename Op>
__device__ __forceinline__ void for_each_element(const TensorList<kDepth>& list, const ChunkRange& c, Op&& op) {
  float* ptr[kDepth];
  bool aligned = true;
#pragma unroll
  for (int d = 0; d < kDepth; ++d) {
    ptr[d] = list.data[d][c.tensor];
    aligned = aligned && is_aligned16(ptr[d]);
  }
  auto one_element = [&](int64_t i) {
    float x[kDepth];
#pragma unroll
    for (int d = 0; d < kDepth; ++d) x[d] = ptr[d][i];
    op(x);
#pragma unroll
    for (int d = 0; d < kDepth; ++d)
      if ((kStoreMask >> d) & 1u) ptr[d][i] = x[d];
  };
  if (!aligned) {
    for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kThreads) one_element(i);
    return;
  }
  const int64_t vec_end = c.begin + ((c.end - c.begin) & ~int64_t{3});
  Vec<float> v[kUnroll][kDepth];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int64_t i = c.begin + (int64_t{u} * kThreads + threadIdx.x) * 4;
    if (i < vec_end) {
#pragma unroll
      for (int d = 0; d < kDepth; ++d) v[u][d] = load_vec(ptr[d] + i);
    }
  }
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int64_t i = c.begin + (int64_t{u} * kThreads + threadIdx.x) * 4;
    if (i < vec_end) {
#pragma unroll
      for (int lane = 0; lane < 4; ++lane) {
        float x[kDepth];
#pragma unroll
        for (int d = 0; d < kDepth; ++d) x[d] = v[u][d].v[lane];
        op(x);
#pragma unroll
        for (int d = 0; d < kDepth; ++d) v[u][d].v[lane] = x[d];
      }
#pragma unroll
      for (int d = 0; d < kDepth; ++d)
        if ((kStoreMask >> d) & 1u) store_vec(ptr[d] + i, v[u][d]);
    }
  }
  const int64_t tail = vec_end + threadIdx.x;
  if (tail < c.end) one_element(tail);
}

struct AdamwScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, sqrt_bias_correction2, eps, grad_scale;
};

// list buffers: param, grad, exp_avg, exp_avg_sq; per-tensor scalars: 1 - lr * weight_decay,
// lr / bias_correction1. The operations of cpu::adamw_step_f32, each rounded (no FMA).
__global__ void __launch_bounds__(kThreads) adamw_kernel(const TensorList<4> list, const AdamwScalars s) {
  const ChunkRange c = locate_chunk(list);
  const float decay = list.scalar[0][c.tensor], step_size = list.scalar[1][c.tensor];
  for_each_element<4, 0b1101u>(list, c, [&](float(&x)[4]) {
    const float g = __fmul_rn(x[1], s.grad_scale);
    const float m = __fadd_rn(__fmul_rn(s.beta1, x[2]), __fmul_rn(s.one_minus_beta1, g));
    const float v = __fadd_rn(__fmul_rn(s.beta2, x[3]), __fmul_rn(__fmul_rn(s.one_minus_beta2, g), g));
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(v), s.sqrt_bias_correction2), s.eps);
    x[0] = __fsub_rn(__fmul_rn(x[0], decay), __fmul_rn(step_size, __fdiv_rn(m, denom)));
    x[2] = m;
    x[3] = v;
  });
}

struct SgdScalars {
  float momentum, grad_scale;
  bool nesterov;
};

// list buffers: param, grad, momentum_buffer; per-tensor scalars: lr, weight_decay.
__global__ void __launch_bounds__(kThreads) sgd_momentum_kernel(const TensorList<3> list, const SgdScalars s) {
  const ChunkRange c = locate_chunk(list);
  const float rate = list.scalar[0][c.tensor], decay = list.scalar[1][c.tensor];
  for_each_element<3, 0b101u>(list, c, [&](float(&x)[3]) {
    const float d = __fadd_rn(__fmul_rn(x[1], s.grad_scale), __fmul_rn(decay, x[0]));
    const float buf = __fadd_rn(__fmul_rn(s.momentum, x[2]), d);
    x[2] = buf;
    x[0] = __fsub_rn(x[0], __fmul_rn(rate, s.nesterov ? __fadd_rn(d, __fmul_rn(s.momentum, buf)) : buf));
  });
}

// list buffers: param, grad; per-tensor scalars: lr, weight_decay.
__global__ void __launch_bounds__(kThreads) sgd_plain_kernel(const TensorList<2> list, const float grad_scale) {
  const ChunkRange c = locate_chunk(list);
  const float rate = list.scalar[0][c.tensor], decay = list.scalar[1][c.tensor];
  for_each_element<2, 0b01u>(list, c, [&](float(&x)[2]) {
    const float d = __fadd_rn(__fmul_rn(x[1], grad_scale), __fmul_rn(decay, x[0]));
    x[0] = __fsub_rn(x[0], __fmul_rn(rate, d));
  });
}

__global__ void __launch_bounds__(kThreads) scale_kernel(const TensorList<1> list, const float s) {
  const ChunkRange c = locate_chunk(list);
  for_each_element<1, 0b1u>(list, c, [&](float(&x)[1]) { x[0] = __fmul_rn(x[0], s); });
}

// Sum over a block of kBlock threads in a fixed order; the total is valid in thread 0.
template <int kBlock>
__device__ __forceinline__ double block_sum_f64(double x) {
  __shared__ double warp_totals[kBlock / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  if (lane == 0) warp_totals[warp] = x;
  __syncthreads();
  if (warp == 0) {
    x = lane < kBlock / 32 ? warp_totals[lane] : 0.0;
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  }
  return x;
}

// partials (the launch's blocks): each chunk's sum of x^2 in double.
__global__ void __launch_bounds__(kThreads) sum_squares_kernel(const TensorList<1> list, double* partials) {
  const ChunkRange c = locate_chunk(list);
  double acc = 0.0;
  for_each_element<1, 0u>(list, c, [&](float(&x)[1]) {
    const double value = x[0];
    acc += value * value;
  });
  acc = block_sum_f64<kThreads>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// *total = sum of partials (count): strided per thread, then the block, in a fixed order.
__global__ void __launch_bounds__(kSumThreads)
    sum_partials_kernel(const double* partials, int64_t count, double* total) {
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += kSumThreads) acc += partials[i];
  acc = block_sum_f64<kSumThreads>(acc);
  if (threadIdx.x == 0) *total = acc;
}

int64_t chunks_of(int64_t n) { return (n + kChunk - 1) / kChunk; }

// Packs entry(0..count-1) (zero-size ones skipped) into lists of at most kMaxTensors tensors and
// kMaxChunksPerLaunch chunks, calling launch(list, blocks, first_chunk) for each, first_chunk
// counting the blocks of the lists before it.
template <int kDepth, typename Entry, typename Launch>
void launch_lists(size_t count, Entry&& entry, Launch&& launch) {
  TensorList<kDepth> list{};
  int64_t first_chunk = 0;
  auto flush = [&] {
    if (list.count == 0) return;
    const int blocks = list.chunk_begin[list.count];
    launch(list, blocks, first_chunk);
    first_chunk += blocks;
    list.count = 0;
  };
  for (size_t index = 0; index < count; ++index) {
    const ListEntry<kDepth> e = entry(index);
    if (e.n <= 0) continue;
    const int64_t chunks = chunks_of(e.n);
    if (list.count == kMaxTensors || list.chunk_begin[list.count] + chunks > kMaxChunksPerLaunch) flush();
    const int slot = list.count++;
    for (int d = 0; d < kDepth; ++d) list.data[d][slot] = e.data[d];
    list.n[slot] = e.n;
    list.scalar[0][slot] = e.scalar[0];
    list.scalar[1][slot] = e.scalar[1];
    list.chunk_begin[slot + 1] = list.chunk_begin[slot] + static_cast<int>(chunks);
  }
  flush();
}

float to_float(double x) { return static_cast<float>(x); }

}  // namespace

void adamw_step_f32(std::span<const AdamwTensor> tensors, double beta1, double beta2, double eps,
                    double bias_correction1, double bias_correction2, double grad_scale, cudaStream_t stream) {
  const AdamwScalars s{
      .beta1 = to_float(beta1),
      .beta2 = to_float(beta2),
      .one_minus_beta1 = to_float(1.0 - beta1),
      .one_minus_beta2 = to_float(1.0 - beta2),
      .sqrt_bias_correction2 = to_float(std::sqrt(bias_correction2)),
      .eps = to_float(eps),
      .grad_scale = to_float(grad_scale),
  };
  launch_lists<4>(
      tensors.size(),
      [&](size_t i) {
        const AdamwTensor& t = tensors[i];
        return ListEntry<4>{{t.param, const_cast<float*>(t.grad), t.exp_avg, t.exp_avg_sq},
                            t.n,
                            {to_float(1.0 - t.lr * t.weight_decay), to_float(t.lr / bias_correction1)}};
      },
      [&](const TensorList<4>& list, int blocks, int64_t) {
        adamw_kernel<<<blocks, kThreads, 0, stream>>>(list, s);
        HANVIT_CUDA_CHECK_LAUNCH("adamw_kernel");
      });
}

void sgd_step_f32(std::span<const SgdTensor> tensors, double momentum, bool nesterov, double grad_scale,
                  cudaStream_t stream) {
  if (tensors.empty()) return;
  const bool has_buffer = tensors.front().momentum_buffer != nullptr;
  for (const SgdTensor& t : tensors)
    if ((t.momentum_buffer != nullptr) != has_buffer)
      throw std::invalid_argument("sgd_step_f32: some tensors have a momentum buffer and others none");
  auto scalars = [](const SgdTensor& t) { return std::array<float, 2>{to_float(t.lr), to_float(t.weight_decay)}; };
  if (!has_buffer) {
    launch_lists<2>(
        tensors.size(),
        [&](size_t i) {
          const SgdTensor& t = tensors[i];
          const auto [rate, decay] = scalars(t);
          return ListEntry<2>{{t.param, const_cast<float*>(t.grad)}, t.n, {rate, decay}};
        },
        [&](const TensorList<2>& list, int blocks, int64_t) {
          sgd_plain_kernel<<<blocks, kThreads, 0, stream>>>(list, to_float(grad_scale));
          HANVIT_CUDA_CHECK_LAUNCH("sgd_plain_kernel");
        });
    return;
  }
  const SgdScalars s{to_float(momentum), to_float(grad_scale), nesterov};
  launch_lists<3>(
      tensors.size(),
      [&](size_t i) {
        const SgdTensor& t = tensors[i];
        const auto [rate, decay] = scalars(t);
        return ListEntry<3>{{t.param, const_cast<float*>(t.grad), t.momentum_buffer}, t.n, {rate, decay}};
      },
      [&](const TensorList<3>& list, int blocks, int64_t) {
        sgd_momentum_kernel<<<blocks, kThreads, 0, stream>>>(list, s);
        HANVIT_CUDA_CHECK_LAUNCH("sgd_momentum_kernel");
      });
}

size_t sum_squares_scratch_doubles(std::span<const DeviceFloats> tensors) {
  int64_t chunks = 0;
  for (const DeviceFloats& t : tensors)
    if (t.n > 0) chunks += chunks_of(t.n);
  return static_cast<size_t>(chunks) + 1;
}

void sum_squares_f32(std::span<const DeviceFloats> tensors, double* partials, double* total, cudaStream_t stream) {
  int64_t partial_count = 0;
  launch_lists<1>(
      tensors.size(),
      [&](size_t i) {
        return ListEntry<1>{{tensors[i].data}, tensors[i].n, {0.f, 0.f}};
      },
      [&](const TensorList<1>& list, int blocks, int64_t first_chunk) {
        sum_squares_kernel<<<blocks, kThreads, 0, stream>>>(list, partials + first_chunk);
        HANVIT_CUDA_CHECK_LAUNCH("sum_squares_kernel");
        partial_count = first_chunk + blocks;
      });
  sum_partials_kernel<<<1, kSumThreads, 0, stream>>>(partials, partial_count, total);
  HANVIT_CUDA_CHECK_LAUNCH("sum_partials_kernel");
}

void scale_f32(std::span<const DeviceFloats> tensors, float s, cudaStream_t stream) {
  launch_lists<1>(
      tensors.size(),
      [&](size_t i) {
        return ListEntry<1>{{tensors[i].data}, tensors[i].n, {0.f, 0.f}};
      },
      [&](const TensorList<1>& list, int blocks, int64_t) {
        scale_kernel<<<blocks, kThreads, 0, stream>>>(list, s);
        HANVIT_CUDA_CHECK_LAUNCH("scale_kernel");
      });
}

}  // namespace hanvit::cuda
