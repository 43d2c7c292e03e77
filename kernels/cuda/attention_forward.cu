// Attention forward on CUDA: a tensor-core kernel (bf16/f16, mma.sync, online softmax in f32) and a SIMT f32
// kernel, both streaming key/value tiles through shared memory; the same kernels give the backward's row statistics.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_tiles.cuh"
#include "kernels/cuda/dispatch.cuh"

namespace hanvit::cuda {
namespace {

// ---- tensor cores: one CTA of kWarps warps per (batch * query head, block of 16 * kMT * kWarps query rows); each warp
// owns 16 * kMT rows. Per key tile: S = Q K^T (mma), masking and the online softmax on the S accumulators, then
// O += P V with P taken straight from the accumulators as A fragments. K and V each have one buffer: V_n is loaded
// while S_n is computed, K_{n+1} while the softmax and P V_n run (FlashAttention-2's order). ----

template <typename T, int kD, int kMT, int kBlockN, int kWarps>
constexpr size_t forward_tc_shared_bytes() {
  return static_cast<size_t>(16 * kMT * kWarps + 2 * kBlockN) * kTileStride<kD> * sizeof(T);
}

// row_stats: write lse2 and delta (rowsum(dout * out)) instead of the output.
template <typename T, int kD, int kMT, int kBlockN, int kWarps>
__global__ void __launch_bounds__(kWarps * 32) attention_forward_tc(const AttentionParams p, bool row_stats) {
  constexpr int kThreads = kWarps * 32;
  constexpr int kBlockM = 16 * kMT * kWarps;
  constexpr int kStride = kTileStride<kD>;
  constexpr int kKSteps = kD / 16;      // 16-wide steps over the head dim
  constexpr int kSTiles = kBlockN / 8;  // 8-key accumulator tiles of S
  constexpr int kOTiles = kD / 8;       // 8-column accumulator tiles of O
  constexpr bool kQInRegisters = kMT * kD <= 128;
  static_assert(kSTiles <= 16, "key_ok holds two bits per S tile");

  extern __shared__ __align__(16) unsigned char shared_raw[];
  T* q_tile = reinterpret_cast<T*>(shared_raw);  // (kBlockM, kD)
  T* k_tile = q_tile + kBlockM * kStride;        // (kBlockN, kD)
  T* v_tile = k_tile + kBlockN * kStride;        // (kBlockN, kD)

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int bh = static_cast<int>(blockIdx.x);  // b * Hq + h
  const int b = bh / p.q_heads, h = bh % p.q_heads;
  const int64_t kv_head = static_cast<int64_t>(b) * p.kv_heads + h / p.group;
  const int m0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * kBlockM;  // the longest causal blocks first
  const int rows = min(kBlockM, p.q_len - m0);
  const T* q = static_cast<const T*>(p.q) + (static_cast<int64_t>(bh) * p.q_len + m0) * p.head_dim;
  // K, V and mask pointers are formed where used: fewer registers live across the loop (no spills at kD = 128).
  const int64_t kv_row0 = kv_head * p.kv_len;  // first key row of this kv head
  const int key_end = p.causal ? max(0, min(p.kv_len, m0 + rows + p.causal_shift)) : p.kv_len;
  const int tiles = (key_end + kBlockN - 1) / kBlockN;

  load_tile<kBlockM, kD, kThreads>(q_tile, q, rows, p.head_dim, p.vec_qk);
  if (tiles > 0)
    load_tile<kBlockN, kD, kThreads>(k_tile, static_cast<const T*>(p.k) + kv_row0 * p.head_dim, min(kBlockN, p.kv_len),
                                     p.head_dim, p.vec_qk);
  cp_async_commit();

  const int warp_row = warp * 16 * kMT;
  uint32_t q_frag[kQInRegisters ? kMT : 1][kQInRegisters ? kKSteps : 1][4];
  float o[kMT][kOTiles][4];
  float row_max[kMT][2], row_sum[kMT][2];  // per accumulator row g and g + 8; row_sum is this lane's share
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kOTiles; ++dt)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[mt][dt][e] = 0.f;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      row_max[mt][half] = -INFINITY;
      row_sum[mt][half] = 0.f;
    }
  }

  for (int n = 0; n < tiles; ++n) {
    const int j0 = n * kBlockN;
    cp_async_wait<0>();
    __syncthreads();  // K_n (and Q) landed; every warp is done with V_{n-1}
    if (kQInRegisters && n == 0) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int kk = 0; kk < kKSteps; ++kk)
          ldmatrix_x4(q_frag[kQInRegisters ? mt : 0][kQInRegisters ? kk : 0],
                      shared_address(q_tile + (warp_row + mt * 16 + lane % 16) * kStride + kk * 16 + lane / 16 * 8));
    }
    load_tile<kBlockN, kD, kThreads>(v_tile, static_cast<const T*>(p.v) + (kv_row0 + j0) * p.value_dim,
                                     min(kBlockN, p.kv_len - j0), p.value_dim, p.vec_v);
    cp_async_commit();

    // S = Q K^T
    float s[kMT][kSTiles][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[mt][nt][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if constexpr (kQInRegisters) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[mt][e] = q_frag[mt][kk][e];
        } else {
          ldmatrix_x4(a[mt],
                      shared_address(q_tile + (warp_row + mt * 16 + lane % 16) * kStride + kk * 16 + lane / 16 * 8));
        }
      }
#pragma unroll
      for (int np = 0; np < kSTiles / 2; ++np) {
        uint32_t kf[4];
        ldmatrix_x4(
            kf, shared_address(k_tile + (np * 16 + lane % 8 + lane / 16 * 8) * kStride + kk * 16 + (lane / 8) % 2 * 8));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_16816<T>(s[mt][2 * np], a[mt], kf[0], kf[1]);
          mma_16816<T>(s[mt][2 * np + 1], a[mt], kf[2], kf[3]);
        }
      }
    }
    cp_async_wait<0>();
    __syncthreads();  // V_n landed; every warp is done with K_n
    if (n + 1 < tiles)
      load_tile<kBlockN, kD, kThreads>(k_tile, static_cast<const T*>(p.k) + (kv_row0 + j0 + kBlockN) * p.head_dim,
                                       min(kBlockN, p.kv_len - j0 - kBlockN), p.head_dim, p.vec_qk);
    cp_async_commit();

    // Masking (only on tiles that need it) and the online softmax, in the log2 domain.
    const bool need_mask =
        p.key_mask != nullptr || j0 + kBlockN > p.kv_len || (p.causal && j0 + kBlockN - 1 > m0 + p.causal_shift);
    uint32_t key_ok = 0;  // bit 2 * nt + e: key j0 + 8 * nt + 2 * t + e exists and is not masked out
    if (need_mask) {
      const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
#pragma unroll
      for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = j0 + nt * 8 + 2 * t + e;
          if (j < p.kv_len && (mask == nullptr || mask[j] != 0)) key_ok |= 1u << (2 * nt + e);
        }
    }
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = m0 + warp_row + mt * 16 + g + half * 8;
        float tile_max = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float x = s[mt][nt][2 * half + e] * p.scale_log2;
            if (need_mask) {
              const int j = j0 + nt * 8 + 2 * t + e;
              const bool visible = ((key_ok >> (2 * nt + e)) & 1u) && (!p.causal || j <= i + p.causal_shift);
              if (!visible) x = -INFINITY;
            }
            s[mt][nt][2 * half + e] = x;
            tile_max = fmaxf(tile_max, x);
          }
        tile_max = quad_max(tile_max);
        const float new_max = fmaxf(row_max[mt][half], tile_max);
        const float base = new_max == -INFINITY ? 0.f : new_max;  // a row with nothing visible yet stays at 0
        const float alpha = fast_exp2(row_max[mt][half] - base);
        row_max[mt][half] = new_max;
        float tile_sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pr = fast_exp2(s[mt][nt][2 * half + e] - base);
            s[mt][nt][2 * half + e] = pr;
            tile_sum += pr;
          }
        row_sum[mt][half] = row_sum[mt][half] * alpha + tile_sum;
#pragma unroll
        for (int dt = 0; dt < kOTiles; ++dt) {
          o[mt][dt][2 * half] *= alpha;
          o[mt][dt][2 * half + 1] *= alpha;
        }
      }

      // O += P V
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) accumulators_to_a<T>(a[mt], s[mt][2 * kk], s[mt][2 * kk + 1]);
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        uint32_t vf[4];
        ldmatrix_x4_trans(
            vf, shared_address(v_tile + (kk * 16 + lane % 8 + (lane / 8) % 2 * 8) * kStride + dp * 16 + lane / 16 * 8));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_16816<T>(o[mt][2 * dp], a[mt], vf[0], vf[1]);
          mma_16816<T>(o[mt][2 * dp + 1], a[mt], vf[2], vf[3]);
        }
      }
    }
  }
  cp_async_wait<0>();

  // Epilogue: normalise; a row that saw no key has row_sum 0 and gets zeros (and lse2 = +inf).
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = m0 + warp_row + mt * 16 + g + half * 8;
      const float total = quad_sum(row_sum[mt][half]);
      const float inv = total > 0.f ? 1.f / total : 0.f;
      const int64_t row = static_cast<int64_t>(bh) * p.q_len + i;
      if (!row_stats) {
        if (i < p.q_len) {
          T* out = static_cast<T*>(p.out) + row * p.value_dim;
#pragma unroll
          for (int dt = 0; dt < kOTiles; ++dt) {
            const int c = dt * 8 + 2 * t;
            if (c < p.value_dim)
              store_pair(out + c, o[mt][dt][2 * half] * inv, o[mt][dt][2 * half + 1] * inv, c + 1 < p.value_dim,
                         p.pairs_out);
          }
        }
      } else {
        float dot = 0.f;
        if (i < p.q_len) {
          const T* dout = static_cast<const T*>(p.dout) + row * p.value_dim;
#pragma unroll
          for (int dt = 0; dt < kOTiles; ++dt) {
            const int c = dt * 8 + 2 * t;
            if (c < p.value_dim) dot += o[mt][dt][2 * half] * inv * to_f32(dout[c]);
            if (c + 1 < p.value_dim) dot += o[mt][dt][2 * half + 1] * inv * to_f32(dout[c + 1]);
          }
        }
        dot = quad_sum(dot);
        if (i < p.q_len && t == 0) {
          p.lse2[row] = total > 0.f ? row_max[mt][half] + log2f(total) : INFINITY;
          p.delta[row] = dot;
        }
      }
    }
}

// ---- SIMT (f32 arithmetic, any dtype): one CTA of 128 threads per (batch * query head, 32 query rows), 32-key
// tiles in shared memory as f32. Thread (ty, tx) = (tid / 8, tid % 8) owns query rows 2ty, 2ty + 1, score columns
// tx + 8c (c < 4) and output columns tx + 8c (c < kWidth / 8); the 8 lanes of a row pair reduce by shuffles. ----

constexpr int kSimtRows = 32, kSimtKeys = 32, kSimtThreads = 128;

template <int kWidth>
constexpr size_t forward_simt_shared_bytes() {
  return sizeof(float) * static_cast<size_t>((kSimtRows + 2 * kSimtKeys) * (kWidth + 1) + kSimtRows * (kSimtKeys + 1));
}

// Sum and max over the 8 lanes tx = 0..7 that share a row pair.
__device__ __forceinline__ float octet_sum(float x) {
#pragma unroll
  for (int offset = 1; offset < 8; offset <<= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}
__device__ __forceinline__ float octet_max(float x) {
#pragma unroll
  for (int offset = 1; offset < 8; offset <<= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

template <typename T, int kWidth>
__global__ void __launch_bounds__(kSimtThreads) attention_forward_simt(const AttentionParams p, bool row_stats) {
  constexpr int kCols = kWidth / 8, kStride = kWidth + 1, kPStride = kSimtKeys + 1;
  extern __shared__ float shared_f32[];
  float* q_tile = shared_f32;                    // (32, kWidth)
  float* k_tile = q_tile + kSimtRows * kStride;  // (32, kWidth)
  float* v_tile = k_tile + kSimtKeys * kStride;  // (32, kWidth)
  float* p_tile = v_tile + kSimtKeys * kStride;  // (32 rows, 32 keys)

  const int ty = static_cast<int>(threadIdx.x) / 8, tx = static_cast<int>(threadIdx.x) % 8;
  const int bh = static_cast<int>(blockIdx.x);
  const int b = bh / p.q_heads, h = bh % p.q_heads;
  const int64_t kv_head = static_cast<int64_t>(b) * p.kv_heads + h / p.group;
  const int m0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * kSimtRows;
  const int rows = min(kSimtRows, p.q_len - m0);
  const T* k = static_cast<const T*>(p.k) + kv_head * p.kv_len * p.head_dim;
  const T* v = static_cast<const T*>(p.v) + kv_head * p.kv_len * p.value_dim;
  const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
  const int key_end = p.causal ? max(0, min(p.kv_len, m0 + rows + p.causal_shift)) : p.kv_len;

  load_tile_f32<kSimtRows, kSimtThreads>(
      q_tile, kWidth, static_cast<const T*>(p.q) + (static_cast<int64_t>(bh) * p.q_len + m0) * p.head_dim, rows,
      p.head_dim);
  float o[2][kCols] = {};
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  for (int j0 = 0; j0 < key_end; j0 += kSimtKeys) {
    const int keys = min(kSimtKeys, p.kv_len - j0);
    __syncthreads();  // the previous tiles are used up
    load_tile_f32<kSimtKeys, kSimtThreads>(k_tile, kWidth, k + static_cast<int64_t>(j0) * p.head_dim, keys, p.head_dim);
    load_tile_f32<kSimtKeys, kSimtThreads>(v_tile, kWidth, v + static_cast<int64_t>(j0) * p.value_dim, keys,
                                           p.value_dim);
    __syncthreads();
    float s[2][4] = {};
    for (int d = 0; d < p.head_dim; ++d) {
      const float q0 = q_tile[(2 * ty) * kStride + d], q1 = q_tile[(2 * ty + 1) * kStride + d];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float kv = k_tile[(tx + 8 * c) * kStride + d];
        s[0][c] = fmaf(q0, kv, s[0][c]);
        s[1][c] = fmaf(q1, kv, s[1][c]);
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = m0 + 2 * ty + r;
      float tile_max = -INFINITY;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int j = j0 + tx + 8 * c;
        const bool visible =
            j < p.kv_len && (mask == nullptr || mask[j] != 0) && (!p.causal || j <= i + p.causal_shift);
        s[r][c] = visible ? s[r][c] * p.scale_log2 : -INFINITY;
        tile_max = fmaxf(tile_max, s[r][c]);
      }
      tile_max = octet_max(tile_max);
      const float new_max = fmaxf(row_max[r], tile_max);
      const float base = new_max == -INFINITY ? 0.f : new_max;
      const float alpha = exp2f(row_max[r] - base);
      row_max[r] = new_max;
      float tile_sum = 0.f;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float pr = exp2f(s[r][c] - base);
        p_tile[(2 * ty + r) * kPStride + tx + 8 * c] = pr;
        tile_sum += pr;
      }
      row_sum[r] = row_sum[r] * alpha + tile_sum;
#pragma unroll
      for (int c = 0; c < kCols; ++c) o[r][c] *= alpha;
    }
    __syncwarp();  // the row pair's probabilities are written by its own 8 lanes
    for (int j = 0; j < keys; ++j) {
      const float p0 = p_tile[(2 * ty) * kPStride + j], p1 = p_tile[(2 * ty + 1) * kPStride + j];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const float vv = v_tile[j * kStride + tx + 8 * c];
        o[0][c] = fmaf(p0, vv, o[0][c]);
        o[1][c] = fmaf(p1, vv, o[1][c]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int i = m0 + 2 * ty + r;
    const float total = octet_sum(row_sum[r]);
    const float inv = total > 0.f ? 1.f / total : 0.f;
    const int64_t row = static_cast<int64_t>(bh) * p.q_len + i;
    if (!row_stats) {
      if (i < p.q_len) {
        T* out = static_cast<T*>(p.out) + row * p.value_dim;
#pragma unroll
        for (int c = 0; c < kCols; ++c)
          if (tx + 8 * c < p.value_dim) out[tx + 8 * c] = from_f32<T>(o[r][c] * inv);
      }
    } else {
      float dot = 0.f;
      if (i < p.q_len) {
        const T* dout = static_cast<const T*>(p.dout) + row * p.value_dim;
#pragma unroll
        for (int c = 0; c < kCols; ++c)
          if (tx + 8 * c < p.value_dim) dot += o[r][c] * inv * to_f32(dout[tx + 8 * c]);
      }
      dot = octet_sum(dot);
      if (i < p.q_len && tx == 0) {
        p.lse2[row] = total > 0.f ? row_max[r] + log2f(total) : INFINITY;
        p.delta[row] = dot;
      }
    }
  }
}

// ---- launches ----

template <typename T, int kD, int kMT, int kBlockN, int kWarps>
void launch_forward_tc(const AttentionParams& p, int64_t batch, bool row_stats, cudaStream_t stream) {
  constexpr int kBlockM = 16 * kMT * kWarps;
  constexpr size_t shared = forward_tc_shared_bytes<T, kD, kMT, kBlockN, kWarps>();
  const auto kernel = attention_forward_tc<T, kD, kMT, kBlockN, kWarps>;
  allow_shared_memory(kernel, shared);
  const dim3 grid(static_cast<unsigned>(batch * p.q_heads), static_cast<unsigned>((p.q_len + kBlockM - 1) / kBlockM));
  kernel<<<grid, kWarps * 32, shared, stream>>>(p, row_stats);
  HANVIT_CUDA_CHECK_LAUNCH("attention_forward_tc");
}

template <typename T, int kWidth>
void launch_forward_simt(const AttentionParams& p, int64_t batch, bool row_stats, cudaStream_t stream) {
  constexpr size_t shared = forward_simt_shared_bytes<kWidth>();
  const auto kernel = attention_forward_simt<T, kWidth>;
  allow_shared_memory(kernel, shared);
  const dim3 grid(static_cast<unsigned>(batch * p.q_heads),
                  static_cast<unsigned>((p.q_len + kSimtRows - 1) / kSimtRows));
  kernel<<<grid, kSimtThreads, shared, stream>>>(p, row_stats);
  HANVIT_CUDA_CHECK_LAUNCH("attention_forward_simt");
}

template <typename T>
void launch_forward(const AttentionParams& p, int64_t batch, bool row_stats, cudaStream_t stream) {
  if constexpr (std::is_same_v<T, float>) {
    switch (attention_simt_width(p)) {
      case 32:
        launch_forward_simt<T, 32>(p, batch, row_stats, stream);
        break;
      case 64:
        launch_forward_simt<T, 64>(p, batch, row_stats, stream);
        break;
      case 128:
        launch_forward_simt<T, 128>(p, batch, row_stats, stream);
        break;
      default:
        launch_forward_simt<T, 256>(p, batch, row_stats, stream);
        break;
    }
  } else {
    if (!attention_fits_tensor_cores(p))
      launch_forward_simt<T, 256>(p, batch, row_stats, stream);
    else if (attention_padded_dim(p) == 64)
      launch_forward_tc<T, 64, 2, 64, 4>(p, batch, row_stats, stream);
    else
      launch_forward_tc<T, 128, 2, 32, 4>(p, batch, row_stats, stream);
  }
}

}  // namespace

AttentionParams make_attention_params(DType dtype, const AttentionShape& shape, const void* q, const void* k,
                                      const void* v, const uint8_t* key_mask, bool causal, float scale) {
  const auto describe = [&] {
    return "(B=" + std::to_string(shape.batch) + ", Hq=" + std::to_string(shape.q_heads) +
           ", Hk=" + std::to_string(shape.kv_heads) + ", Tq=" + std::to_string(shape.q_len) +
           ", Tk=" + std::to_string(shape.kv_len) + ", D=" + std::to_string(shape.head_dim) +
           ", Dv=" + std::to_string(shape.value_dim) + ")";
  };
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  if (shape.batch < 0 || shape.q_heads < 0 || shape.kv_heads < 0 || shape.q_len < 0 || shape.kv_len < 0 ||
      shape.head_dim < 0 || shape.value_dim < 0 || (shape.q_heads > 0 && shape.kv_heads == 0) ||
      (shape.kv_heads > 0 && shape.q_heads % shape.kv_heads != 0))
    throw std::invalid_argument("attention (CUDA): invalid shape " + describe());
  if (shape.head_dim > 256 || shape.value_dim > 256)
    throw std::invalid_argument("attention (CUDA): head dims above 256 are not supported " + describe());
  if (shape.batch * shape.q_heads > kIntMax || shape.batch * shape.kv_heads > kIntMax || shape.q_len > kIntMax / 2 ||
      shape.kv_len > kIntMax / 2 || (shape.q_len + kSimtRows - 1) / kSimtRows > 65535 ||
      (shape.kv_len + kSimtKeys - 1) / kSimtKeys > 65535)
    throw std::invalid_argument("attention (CUDA): shape too large " + describe());
  AttentionParams p{};
  p.q = q;
  p.k = k;
  p.v = v;
  p.key_mask = key_mask;
  p.q_heads = static_cast<int>(shape.q_heads);
  p.kv_heads = static_cast<int>(shape.kv_heads);
  p.group = shape.kv_heads > 0 ? static_cast<int>(shape.q_heads / shape.kv_heads) : 1;
  p.q_len = static_cast<int>(shape.q_len);
  p.kv_len = static_cast<int>(shape.kv_len);
  p.head_dim = static_cast<int>(shape.head_dim);
  p.value_dim = static_cast<int>(shape.value_dim);
  p.causal_shift = p.kv_len - p.q_len;
  p.causal = causal;
  p.scale = scale;
  p.scale_log2 = scale * 1.4426950408889634f;
  const int64_t per_chunk = 16 / static_cast<int64_t>(dtype_size(dtype));
  p.vec_qk = shape.head_dim % per_chunk == 0 && aligned16(q) && aligned16(k);
  p.vec_v = shape.value_dim % per_chunk == 0 && aligned16(v);
  return p;
}

void launch_attention_row_stats(DType dtype, const AttentionParams& params, int64_t batch, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "attention_backward", T, { launch_forward<T>(params, batch, true, stream); });
}

void attention_forward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                       const uint8_t* key_mask, bool causal, float scale, void* out, cudaStream_t stream) {
  AttentionParams p = make_attention_params(dtype, shape, q, k, v, key_mask, causal, scale);
  if (shape.batch * shape.q_heads * shape.q_len * shape.value_dim == 0) return;
  p.out = out;
  p.pairs_out = pairs_ok(out, shape.value_dim);
  HANVIT_DISPATCH_FLOAT(dtype, "attention", T, { launch_forward<T>(p, shape.batch, false, stream); });
}

}  // namespace hanvit::cuda
