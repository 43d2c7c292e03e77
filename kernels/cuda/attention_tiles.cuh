// defines: AttentionParams, make_attention_params, the mma.sync / ldmatrix / cp.async wrappers and the shared-memory
// tile loaders used by the attention kernels, and launch_attention_row_stats (the backward's first pass).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/device_math.cuh"

namespace hanvit::cuda {

// Everything a kernel needs, by value. Row logsumexps are kept in the log2 domain: lse2 = log2(sum_j 2^x_j) with
// x_j = (q . k_j) * scale * log2(e); a row that sees no key has lse2 = +inf, so 2^(x - lse2) = 0 for it.
struct AttentionParams {
  const void* q;                 // (B, Hq, Tq, D)
  const void* k;                 // (B, Hk, Tk, D)
  const void* v;                 // (B, Hk, Tk, Dv)
  const uint8_t* key_mask;       // (B, Tk) or null
  const void* dout;              // (B, Hq, Tq, Dv), backward only
  void* out;                     // (B, Hq, Tq, Dv), forward only
  float* lse2;                   // (B, Hq, Tq), row statistics of the backward
  float* delta;                  // (B, Hq, Tq): rowsum(dout * out)
  void* dq;                      // (B, Hq, Tq, D)
  void* dk;                      // (B, Hk, Tk, D)
  void* dv;                      // (B, Hk, Tk, Dv)
  int q_heads, kv_heads, group;  // group = q_heads / kv_heads
  int q_len, kv_len;
  int head_dim, value_dim;
  int causal_shift;  // Tk - Tq: query i sees key j iff j <= i + causal_shift (when causal)
  bool causal;
  float scale;                                   // on the scores q . k
  float scale_log2;                              // scale * log2(e)
  bool vec_qk;                                   // q and k rows can be read in 16-byte chunks
  bool vec_v;                                    // v and dout rows can be read in 16-byte chunks
  bool pairs_out, pairs_dq, pairs_dk, pairs_dv;  // 4-byte aligned element pairs can be stored at once
};

// Fills the shape, flags and input pointers (outputs and statistics are set by the caller). Throws
// std::invalid_argument for sizes the kernels do not handle.
AttentionParams make_attention_params(DType dtype, const AttentionShape& shape, const void* q, const void* k,
                                      const void* v, const uint8_t* key_mask, bool causal, float scale);

// Whether 2-byte elements (dim per row) at p can be stored two at a time.
inline bool pairs_ok(const void* p, int64_t dim) { return dim % 2 == 0 && (reinterpret_cast<uintptr_t>(p) & 3u) == 0; }

// The backward's first pass: a forward pass over params.q/k/v that writes no output, only params.lse2 and
// params.delta (rowsum of params.dout times the normalised output, in f32).
void launch_attention_row_stats(DType dtype, const AttentionParams& params, int64_t batch, cudaStream_t stream);

// Whether bf16/f16 with these head dims run on the tensor-core kernels, and their padded head dim (64 or 128).
inline bool attention_fits_tensor_cores(const AttentionParams& p) { return p.head_dim <= 128 && p.value_dim <= 128; }
inline int attention_padded_dim(const AttentionParams& p) { return (p.head_dim > 64 || p.value_dim > 64) ? 128 : 64; }
// SIMT kernels keep (8 * columns) accumulators per row slice: the smallest of 32, 64, 128, 256 that holds D and Dv.
inline int attention_simt_width(const AttentionParams& p) {
  const int dim = p.head_dim > p.value_dim ? p.head_dim : p.value_dim;
  return dim <= 32 ? 32 : dim <= 64 ? 64 : dim <= 128 ? 128 : 256;
}

// Sets the dynamic shared-memory limit of `kernel` (needed above 48 KB) on the current device.
template <typename Kernel>
void allow_shared_memory(Kernel kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    HANVIT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// ---- PTX wrappers (sm_80+) ----

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared without passing through registers; valid == false writes 16 zero bytes.
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most `pending` of this thread's committed groups are still in flight.
template <int pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending));
}

// Four 8x8 b16 matrices; lane l gives the address of row l % 8 of matrix l / 8. Register m of every lane holds
// the pair (row lane / 4, columns 2 * (lane % 4) + {0, 1}) of matrix m (of its transpose with .trans).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// c (16x8, f32) += a (16x16, row-major fragment) b (16x8, column fragment). With g = lane / 4, t = lane % 4:
// a[0] = (g, 2t..2t+1), a[1] = (g+8, 2t..), a[2] = (g, 2t+8..), a[3] = (g+8, 2t+8..); b[0] = (k 2t..2t+1, n g),
// b[1] = (k 2t+8.., n g); c[0..1] = (g, 2t..2t+1), c[2..3] = (g+8, 2t..2t+1).
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma_16816<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as one register of two T (the low half is `lo`).
template <typename T>
__device__ __forceinline__ uint32_t pack_pair(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack_pair<__nv_bfloat16>(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack_pair<__half>(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// The A fragment of a 16x16 block from two neighbouring 16x8 accumulator tiles (columns 0-7 and 8-15).
template <typename T>
__device__ __forceinline__ void accumulators_to_a(uint32_t (&a)[4], const float (&left)[4], const float (&right)[4]) {
  a[0] = pack_pair<T>(left[0], left[1]);
  a[1] = pack_pair<T>(left[2], left[3]);
  a[2] = pack_pair<T>(right[0], right[1]);
  a[3] = pack_pair<T>(right[2], right[3]);
}

// 2^x by the special-function unit (about 2 ulp; -inf gives +0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Sum and max over the 4 lanes of a quad (the lanes that share an accumulator row).
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

// ---- shared-memory tiles of the tensor-core kernels: (rows, kD) of T, row stride kD + 8 (16 bytes of padding
// put the 8 rows of an ldmatrix in 8 different bank groups) ----

template <int kD>
inline constexpr int kTileStride = kD + 8;

// Tile rows [0, kRows) from src (row-major, row stride `cols`): rows >= `rows` and columns >= `cols` are zero.
// vec: cp.async in 16-byte chunks (cols % 8 == 0 and src 16-byte aligned; the caller commits the group); else
// element copies through registers (visible after the next barrier).
template <int kRows, int kD, int kThreads, typename T>
__device__ __forceinline__ void load_tile(T* tile, const T* src, int rows, int cols, bool vec) {
  constexpr int kChunks = kD / 8;
  if (vec) {
#pragma unroll
    for (int i = 0; i < (kRows * kChunks + kThreads - 1) / kThreads; ++i) {
      const int idx = i * kThreads + static_cast<int>(threadIdx.x);
      if (kRows * kChunks % kThreads == 0 || idx < kRows * kChunks) {
        const int r = idx / kChunks, c = (idx % kChunks) * 8;
        const bool valid = r < rows && c < cols;
        cp_async_16(shared_address(tile + r * kTileStride<kD> + c),
                    valid ? src + static_cast<int64_t>(r) * cols + c : src, valid);
      }
    }
  } else {
    for (int idx = static_cast<int>(threadIdx.x); idx < kRows * kD; idx += kThreads) {
      const int r = idx / kD, c = idx % kD;
      tile[r * kTileStride<kD> + c] =
          (r < rows && c < cols) ? src[static_cast<int64_t>(r) * cols + c] : from_f32<T>(0.f);
    }
  }
}

// ---- shared-memory tiles of the SIMT kernels: f32, row stride width + 1 ----

// tile (kRows, width) = rows [0, rows) x columns [0, cols) of src (row stride `cols`) in f32, zeros elsewhere.
template <int kRows, int kThreads, typename T>
__device__ __forceinline__ void load_tile_f32(float* tile, int width, const T* src, int rows, int cols) {
  const int stride = width + 1;
  for (int idx = static_cast<int>(threadIdx.x); idx < kRows * width; idx += kThreads) {
    const int r = idx / width, c = idx % width;
    tile[r * stride + c] = (r < rows && c < cols) ? to_f32(src[static_cast<int64_t>(r) * cols + c]) : 0.f;
  }
}

// Stores the pair (x0, x1) at dst[0..1], the second only when `both`; `pairs`: dst is 4-byte aligned.
template <typename T>
__device__ __forceinline__ void store_pair(T* dst, float x0, float x1, bool both, bool pairs) {
  if constexpr (sizeof(T) == 2) {
    if (both && pairs) {
      *reinterpret_cast<uint32_t*>(dst) = pack_pair<T>(x0, x1);
      return;
    }
  }
  dst[0] = from_f32<T>(x0);
  if (both) dst[1] = from_f32<T>(x1);
}

}  // namespace hanvit::cuda
