// Attention backward on CUDA without atomics: row statistics from a forward pass, then dk/dv with one CTA per key
// block (keys as the M dimension of every product, query heads of a GQA group summed in a fixed order) and dq with
// one CTA per query block; tensor-core kernels for bf16/f16, SIMT f32 kernels otherwise.
#include <cstddef>
#include <type_traits>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_tiles.cuh"
#include "kernels/cuda/dispatch.cuh"

namespace hanvit::cuda {
namespace {

// ---- tensor cores: dk, dv. One CTA of kWarps warps per (batch * kv head, block of 16 * kWarps keys); warp w owns
// keys 16w..16w+15 of the block and keeps their dK, dV accumulators in registers. For every query head of the group
// and query block (kBlockM rows, double-buffered with cp.async):
//   S^T = K Q^T, P^T = 2^(S^T * scale_log2 - lse2), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - delta),
//   dK += dS^T Q,
// with P^T and dS^T going from accumulators straight to A fragments. ----

template <typename T, int kD, int kWarps, int kBlockM>
constexpr size_t dkdv_tc_shared_bytes() {
  return static_cast<size_t>(2 * 16 * kWarps + 4 * kBlockM) * kTileStride<kD> * sizeof(T) + 4 * kBlockM * sizeof(float);
}

template <typename T, int kD, int kWarps, int kBlockM>
__global__ void __launch_bounds__(kWarps * 32) attention_backward_dkdv_tc(const AttentionParams p) {
  constexpr int kThreads = kWarps * 32;
  constexpr int kBlockN = 16 * kWarps;
  constexpr int kStride = kTileStride<kD>;
  constexpr int kKSteps = kD / 16;
  constexpr int kDTiles = kD / 8;       // 8-column accumulator tiles of dK, dV
  constexpr int kSTiles = kBlockM / 8;  // 8-query accumulator tiles of S^T, dP^T

  extern __shared__ __align__(16) unsigned char shared_raw[];
  T* k_tile = reinterpret_cast<T*>(shared_raw);                                   // (kBlockN, kD)
  T* v_tile = k_tile + kBlockN * kStride;                                         // (kBlockN, kD)
  T* q_tiles = v_tile + kBlockN * kStride;                                        // 2 x (kBlockM, kD)
  T* do_tiles = q_tiles + 2 * kBlockM * kStride;                                  // 2 x (kBlockM, kD)
  float* lse_tiles = reinterpret_cast<float*>(do_tiles + 2 * kBlockM * kStride);  // 2 x (kBlockM)
  float* delta_tiles = lse_tiles + 2 * kBlockM;                                   // 2 x (kBlockM)

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int kv_bh = static_cast<int>(blockIdx.x);  // b * Hk + hk
  const int b = kv_bh / p.kv_heads, hk = kv_bh % p.kv_heads;
  const int n0 = static_cast<int>(blockIdx.y) * kBlockN;  // the longest causal blocks first
  const int keys = min(kBlockN, p.kv_len - n0);
  const int64_t kv_row0 = static_cast<int64_t>(kv_bh) * p.kv_len + n0;

  load_tile<kBlockN, kD, kThreads>(k_tile, static_cast<const T*>(p.k) + kv_row0 * p.head_dim, keys, p.head_dim,
                                   p.vec_qk);
  load_tile<kBlockN, kD, kThreads>(v_tile, static_cast<const T*>(p.v) + kv_row0 * p.value_dim, keys, p.value_dim,
                                   p.vec_v);
  cp_async_commit();

  // Query blocks: rows i < n0 - causal_shift see none of these keys under the causal rule.
  const int m_blocks = (p.q_len + kBlockM - 1) / kBlockM;
  const int m_first = p.causal ? min(m_blocks, max(0, n0 - p.causal_shift) / kBlockM) : 0;
  const int per_head = m_blocks - m_first;
  const int steps = p.group * per_head;

  const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
  bool key_ok[2];  // this lane's accumulator rows g and g + 8
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int j = n0 + warp * 16 + g + half * 8;
    key_ok[half] = j < p.kv_len && (mask == nullptr || mask[j] != 0);
  }

  // Step s covers query head hk * group + s / per_head, query block m_first + s % per_head.
  const auto step_rows = [&](int step, int64_t& q_row0, int& m0) {
    const int h = hk * p.group + step / per_head;
    m0 = (m_first + step % per_head) * kBlockM;
    q_row0 = (static_cast<int64_t>(b) * p.q_heads + h) * p.q_len + m0;
  };
  const auto prefetch = [&](int step, int buffer) {
    int64_t q_row0;
    int m0;
    step_rows(step, q_row0, m0);
    const int rows = min(kBlockM, p.q_len - m0);
    load_tile<kBlockM, kD, kThreads>(q_tiles + buffer * kBlockM * kStride,
                                     static_cast<const T*>(p.q) + q_row0 * p.head_dim, rows, p.head_dim, p.vec_qk);
    load_tile<kBlockM, kD, kThreads>(do_tiles + buffer * kBlockM * kStride,
                                     static_cast<const T*>(p.dout) + q_row0 * p.value_dim, rows, p.value_dim, p.vec_v);
    for (int i = static_cast<int>(threadIdx.x); i < kBlockM; i += kThreads) {
      lse_tiles[buffer * kBlockM + i] = i < rows ? p.lse2[q_row0 + i] : INFINITY;
      delta_tiles[buffer * kBlockM + i] = i < rows ? p.delta[q_row0 + i] : 0.f;
    }
  };

  float dk[kDTiles][4], dv[kDTiles][4];
#pragma unroll
  for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      dk[dt][e] = 0.f;
      dv[dt][e] = 0.f;
    }
  if (steps > 0) prefetch(0, 0);
  cp_async_commit();

  const int key_row = warp * 16;  // first tile row of this warp
  for (int step = 0; step < steps; ++step) {
    const int buffer = step & 1;
    if (step + 1 < steps) {
      prefetch(step + 1, buffer ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();  // this step's tiles (and K, V) landed
    int64_t q_row0;
    int m0;
    step_rows(step, q_row0, m0);
    const T* q_tile = q_tiles + buffer * kBlockM * kStride;
    const T* do_tile = do_tiles + buffer * kBlockM * kStride;
    const float* lse = lse_tiles + buffer * kBlockM;
    const float* delta = delta_tiles + buffer * kBlockM;

    // S^T = K Q^T
    float st[kSTiles][4];
#pragma unroll
    for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[nt][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      uint32_t a[4];
      ldmatrix_x4(a, shared_address(k_tile + (key_row + lane % 16) * kStride + kk * 16 + lane / 16 * 8));
#pragma unroll
      for (int np = 0; np < kSTiles / 2; ++np) {
        uint32_t bf[4];
        ldmatrix_x4(
            bf, shared_address(q_tile + (np * 16 + lane % 8 + lane / 16 * 8) * kStride + kk * 16 + (lane / 8) % 2 * 8));
        mma_16816<T>(st[2 * np], a, bf[0], bf[1]);
        mma_16816<T>(st[2 * np + 1], a, bf[2], bf[3]);
      }
    }

    // P^T = 2^(S^T * scale_log2 - lse2), zero where the key is masked out or causally hidden
    const bool need_mask = mask != nullptr || (p.causal && n0 + kBlockN - 1 > m0 + p.causal_shift);
#pragma unroll
    for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int i_local = nt * 8 + 2 * t + e;
        const float row_lse = lse[i_local];
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float pr = fast_exp2(st[nt][2 * half + e] * p.scale_log2 - row_lse);
          if (need_mask) {
            const int j = n0 + key_row + g + half * 8;
            if (!key_ok[half] || (p.causal && j > m0 + i_local + p.causal_shift)) pr = 0.f;
          }
          st[nt][2 * half + e] = pr;
        }
      }

      // dV += P^T dO
#pragma unroll
    for (int kk = 0; kk < kBlockM / 16; ++kk) {
      uint32_t a[4];
      accumulators_to_a<T>(a, st[2 * kk], st[2 * kk + 1]);
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        uint32_t bf[4];
        ldmatrix_x4_trans(bf, shared_address(do_tile + (kk * 16 + lane % 8 + (lane / 8) % 2 * 8) * kStride + dp * 16 +
                                             lane / 16 * 8));
        mma_16816<T>(dv[2 * dp], a, bf[0], bf[1]);
        mma_16816<T>(dv[2 * dp + 1], a, bf[2], bf[3]);
      }
    }

    // dP^T = V dO^T
    float dpt[kSTiles][4];
#pragma unroll
    for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) dpt[nt][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      uint32_t a[4];
      ldmatrix_x4(a, shared_address(v_tile + (key_row + lane % 16) * kStride + kk * 16 + lane / 16 * 8));
#pragma unroll
      for (int np = 0; np < kSTiles / 2; ++np) {
        uint32_t bf[4];
        ldmatrix_x4(bf, shared_address(do_tile + (np * 16 + lane % 8 + lane / 16 * 8) * kStride + kk * 16 +
                                       (lane / 8) % 2 * 8));
        mma_16816<T>(dpt[2 * np], a, bf[0], bf[1]);
        mma_16816<T>(dpt[2 * np + 1], a, bf[2], bf[3]);
      }
    }

    // dS^T = P^T (dP^T - delta), into st
#pragma unroll
    for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float row_delta = delta[nt * 8 + 2 * t + e];
#pragma unroll
        for (int half = 0; half < 2; ++half) st[nt][2 * half + e] *= dpt[nt][2 * half + e] - row_delta;
      }

      // dK += dS^T Q (times scale at the end)
#pragma unroll
    for (int kk = 0; kk < kBlockM / 16; ++kk) {
      uint32_t a[4];
      accumulators_to_a<T>(a, st[2 * kk], st[2 * kk + 1]);
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        uint32_t bf[4];
        ldmatrix_x4_trans(
            bf, shared_address(q_tile + (kk * 16 + lane % 8 + (lane / 8) % 2 * 8) * kStride + dp * 16 + lane / 16 * 8));
        mma_16816<T>(dk[2 * dp], a, bf[0], bf[1]);
        mma_16816<T>(dk[2 * dp + 1], a, bf[2], bf[3]);
      }
    }
    __syncthreads();  // every warp is done with this buffer before the next prefetch overwrites it
  }
  cp_async_wait<0>();

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = key_row + g + half * 8;
    if (r >= keys) continue;
    T* dk_row = static_cast<T*>(p.dk) + (kv_row0 + r) * p.head_dim;
    T* dv_row = static_cast<T*>(p.dv) + (kv_row0 + r) * p.value_dim;
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt) {
      const int c = dt * 8 + 2 * t;
      if (c < p.head_dim)
        store_pair(dk_row + c, dk[dt][2 * half] * p.scale, dk[dt][2 * half + 1] * p.scale, c + 1 < p.head_dim,
                   p.pairs_dk);
      if (c < p.value_dim)
        store_pair(dv_row + c, dv[dt][2 * half], dv[dt][2 * half + 1], c + 1 < p.value_dim, p.pairs_dv);
    }
  }
}

// ---- tensor cores: dq. One CTA of 4 warps per (batch * query head, 64 query rows), 16 rows per warp; K and V
// tiles (kBlockN keys) double-buffered with cp.async. Per tile: S = Q K^T, dP = dO V^T,
// dS = 2^(S * scale_log2 - lse2) (dP - delta), dQ += dS K. ----

template <typename T, int kD, int kBlockN>
constexpr size_t dq_tc_shared_bytes() {
  return static_cast<size_t>(2 * 64 + 4 * kBlockN) * kTileStride<kD> * sizeof(T);
}

template <typename T, int kD, int kBlockN>
__global__ void __launch_bounds__(128) attention_backward_dq_tc(const AttentionParams p) {
  constexpr int kThreads = 128, kBlockM = 64;
  constexpr int kStride = kTileStride<kD>;
  constexpr int kKSteps = kD / 16;
  constexpr int kDTiles = kD / 8;
  constexpr int kSTiles = kBlockN / 8;
  constexpr bool kHoldFragments = kD <= 64;  // Q and dO fragments stay in registers
  static_assert(kSTiles <= 16, "key_ok holds two bits per S tile");

  extern __shared__ __align__(16) unsigned char shared_raw[];
  T* q_tile = reinterpret_cast<T*>(shared_raw);  // (64, kD)
  T* do_tile = q_tile + kBlockM * kStride;       // (64, kD)
  T* k_tiles = do_tile + kBlockM * kStride;      // 2 x (kBlockN, kD)
  T* v_tiles = k_tiles + 2 * kBlockN * kStride;  // 2 x (kBlockN, kD)

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int bh = static_cast<int>(blockIdx.x);
  const int b = bh / p.q_heads, h = bh % p.q_heads;
  const int64_t kv_head = static_cast<int64_t>(b) * p.kv_heads + h / p.group;
  const int m0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * kBlockM;
  const int rows = min(kBlockM, p.q_len - m0);
  const int64_t q_row0 = static_cast<int64_t>(bh) * p.q_len + m0;
  const T* k = static_cast<const T*>(p.k) + kv_head * p.kv_len * p.head_dim;
  const T* v = static_cast<const T*>(p.v) + kv_head * p.kv_len * p.value_dim;
  const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
  const int key_end = p.causal ? max(0, min(p.kv_len, m0 + rows + p.causal_shift)) : p.kv_len;
  const int tiles = (key_end + kBlockN - 1) / kBlockN;

  const auto prefetch = [&](int tile, int buffer) {
    const int j0 = tile * kBlockN;
    load_tile<kBlockN, kD, kThreads>(k_tiles + buffer * kBlockN * kStride, k + static_cast<int64_t>(j0) * p.head_dim,
                                     min(kBlockN, p.kv_len - j0), p.head_dim, p.vec_qk);
    load_tile<kBlockN, kD, kThreads>(v_tiles + buffer * kBlockN * kStride, v + static_cast<int64_t>(j0) * p.value_dim,
                                     min(kBlockN, p.kv_len - j0), p.value_dim, p.vec_v);
  };
  load_tile<kBlockM, kD, kThreads>(q_tile, static_cast<const T*>(p.q) + q_row0 * p.head_dim, rows, p.head_dim,
                                   p.vec_qk);
  load_tile<kBlockM, kD, kThreads>(do_tile, static_cast<const T*>(p.dout) + q_row0 * p.value_dim, rows, p.value_dim,
                                   p.vec_v);
  if (tiles > 0) prefetch(0, 0);
  cp_async_commit();

  const int warp_row = warp * 16;
  float row_lse[2], row_delta[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = warp_row + g + half * 8;
    row_lse[half] = r < rows ? p.lse2[q_row0 + r] : INFINITY;
    row_delta[half] = r < rows ? p.delta[q_row0 + r] : 0.f;
  }
  uint32_t q_frag[kHoldFragments ? kKSteps : 1][4], do_frag[kHoldFragments ? kKSteps : 1][4];
  float dq[kDTiles][4];
#pragma unroll
  for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) dq[dt][e] = 0.f;

  for (int n = 0; n < tiles; ++n) {
    const int buffer = n & 1, j0 = n * kBlockN;
    if (n + 1 < tiles) {
      prefetch(n + 1, buffer ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();  // tile n (and Q, dO) landed
    const T* k_tile = k_tiles + buffer * kBlockN * kStride;
    const T* v_tile = v_tiles + buffer * kBlockN * kStride;
    if (kHoldFragments && n == 0) {
#pragma unroll
      for (int kk = 0; kk < kKSteps; ++kk) {
        const int offset = (warp_row + lane % 16) * kStride + kk * 16 + lane / 16 * 8;
        ldmatrix_x4(q_frag[kHoldFragments ? kk : 0], shared_address(q_tile + offset));
        ldmatrix_x4(do_frag[kHoldFragments ? kk : 0], shared_address(do_tile + offset));
      }
    }

    // S = Q K^T and dP = dO V^T
    float s[kSTiles][4], dp[kSTiles][4];
#pragma unroll
    for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] = 0.f;
        dp[nt][e] = 0.f;
      }
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      uint32_t qa[4], da[4];
      if constexpr (kHoldFragments) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          qa[e] = q_frag[kk][e];
          da[e] = do_frag[kk][e];
        }
      } else {
        const int offset = (warp_row + lane % 16) * kStride + kk * 16 + lane / 16 * 8;
        ldmatrix_x4(qa, shared_address(q_tile + offset));
        ldmatrix_x4(da, shared_address(do_tile + offset));
      }
#pragma unroll
      for (int np = 0; np < kSTiles / 2; ++np) {
        const int offset = (np * 16 + lane % 8 + lane / 16 * 8) * kStride + kk * 16 + (lane / 8) % 2 * 8;
        uint32_t kf[4], vf[4];
        ldmatrix_x4(kf, shared_address(k_tile + offset));
        ldmatrix_x4(vf, shared_address(v_tile + offset));
        mma_16816<T>(s[2 * np], qa, kf[0], kf[1]);
        mma_16816<T>(s[2 * np + 1], qa, kf[2], kf[3]);
        mma_16816<T>(dp[2 * np], da, vf[0], vf[1]);
        mma_16816<T>(dp[2 * np + 1], da, vf[2], vf[3]);
      }
    }

    // dS = P (dP - delta), into s
    const bool need_mask =
        mask != nullptr || j0 + kBlockN > p.kv_len || (p.causal && j0 + kBlockN - 1 > m0 + p.causal_shift);
    uint32_t key_ok = 0;
    if (need_mask) {
#pragma unroll
      for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = j0 + nt * 8 + 2 * t + e;
          if (j < p.kv_len && (mask == nullptr || mask[j] != 0)) key_ok |= 1u << (2 * nt + e);
        }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = m0 + warp_row + g + half * 8;
#pragma unroll
      for (int nt = 0; nt < kSTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float pr = fast_exp2(s[nt][2 * half + e] * p.scale_log2 - row_lse[half]);
          if (need_mask) {
            const int j = j0 + nt * 8 + 2 * t + e;
            if (!((key_ok >> (2 * nt + e)) & 1u) || (p.causal && j > i + p.causal_shift)) pr = 0.f;
          }
          s[nt][2 * half + e] = pr * (dp[nt][2 * half + e] - row_delta[half]);
        }
    }

    // dQ += dS K (times scale at the end)
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[4];
      accumulators_to_a<T>(a, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
      for (int dt = 0; dt < kD / 16; ++dt) {
        uint32_t kf[4];
        ldmatrix_x4_trans(
            kf, shared_address(k_tile + (kk * 16 + lane % 8 + (lane / 8) % 2 * 8) * kStride + dt * 16 + lane / 16 * 8));
        mma_16816<T>(dq[2 * dt], a, kf[0], kf[1]);
        mma_16816<T>(dq[2 * dt + 1], a, kf[2], kf[3]);
      }
    }
    __syncthreads();  // every warp is done with this buffer before the next prefetch overwrites it
  }
  cp_async_wait<0>();

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = warp_row + g + half * 8;
    if (r >= rows) continue;
    T* dq_row = static_cast<T*>(p.dq) + (q_row0 + r) * p.head_dim;
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt) {
      const int c = dt * 8 + 2 * t;
      if (c < p.head_dim)
        store_pair(dq_row + c, dq[dt][2 * half] * p.scale, dq[dt][2 * half + 1] * p.scale, c + 1 < p.head_dim,
                   p.pairs_dq);
    }
  }
}

// ---- SIMT (f32 arithmetic, any dtype): 128 threads, 32 x 32 tiles in shared memory as f32. Thread (ty, tx) =
// (tid / 8, tid % 8) owns tile rows 2ty, 2ty + 1 and columns tx + 8c; rows are keys in the dk/dv kernel and
// queries in the dq kernel. ----

constexpr int kSimtBlock = 32, kSimtThreads = 128;

template <int kWidth>
constexpr size_t backward_simt_shared_bytes() {
  return sizeof(float) *
         static_cast<size_t>(4 * kSimtBlock * (kWidth + 1) + 2 * kSimtBlock * (kSimtBlock + 1) + 2 * kSimtBlock);
}

// dk, dv: one CTA per (batch * kv head, 32 keys), looping over the query blocks of every query head of the group.
template <typename T, int kWidth>
__global__ void __launch_bounds__(kSimtThreads) attention_backward_dkdv_simt(const AttentionParams p) {
  constexpr int kCols = kWidth / 8, kStride = kWidth + 1, kPStride = kSimtBlock + 1;
  extern __shared__ float shared_f32[];
  float* k_tile = shared_f32;                       // (32 keys, kWidth)
  float* v_tile = k_tile + kSimtBlock * kStride;    // (32 keys, kWidth)
  float* q_tile = v_tile + kSimtBlock * kStride;    // (32 queries, kWidth)
  float* do_tile = q_tile + kSimtBlock * kStride;   // (32 queries, kWidth)
  float* p_tile = do_tile + kSimtBlock * kStride;   // (32 keys, 32 queries): P^T
  float* ds_tile = p_tile + kSimtBlock * kPStride;  // (32 keys, 32 queries): dS^T
  float* lse = ds_tile + kSimtBlock * kPStride;     // (32 queries)
  float* delta = lse + kSimtBlock;                  // (32 queries)

  const int ty = static_cast<int>(threadIdx.x) / 8, tx = static_cast<int>(threadIdx.x) % 8;
  const int kv_bh = static_cast<int>(blockIdx.x);
  const int b = kv_bh / p.kv_heads, hk = kv_bh % p.kv_heads;
  const int n0 = static_cast<int>(blockIdx.y) * kSimtBlock;
  const int keys = min(kSimtBlock, p.kv_len - n0);
  const int64_t kv_row0 = static_cast<int64_t>(kv_bh) * p.kv_len + n0;
  load_tile_f32<kSimtBlock, kSimtThreads>(k_tile, kWidth, static_cast<const T*>(p.k) + kv_row0 * p.head_dim, keys,
                                          p.head_dim);
  load_tile_f32<kSimtBlock, kSimtThreads>(v_tile, kWidth, static_cast<const T*>(p.v) + kv_row0 * p.value_dim, keys,
                                          p.value_dim);
  const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
  bool key_ok[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int j = n0 + 2 * ty + r;
    key_ok[r] = j < p.kv_len && (mask == nullptr || mask[j] != 0);
  }
  const int m_blocks = (p.q_len + kSimtBlock - 1) / kSimtBlock;
  const int m_first = p.causal ? min(m_blocks, max(0, n0 - p.causal_shift) / kSimtBlock) : 0;

  float dk[2][kCols] = {}, dv[2][kCols] = {};
  for (int hh = 0; hh < p.group; ++hh) {
    const int64_t q_bh = static_cast<int64_t>(b) * p.q_heads + hk * p.group + hh;
    for (int mb = m_first; mb < m_blocks; ++mb) {
      const int m0 = mb * kSimtBlock, rows = min(kSimtBlock, p.q_len - m0);
      const int64_t q_row0 = q_bh * p.q_len + m0;
      __syncthreads();  // the previous query block is used up
      load_tile_f32<kSimtBlock, kSimtThreads>(q_tile, kWidth, static_cast<const T*>(p.q) + q_row0 * p.head_dim, rows,
                                              p.head_dim);
      load_tile_f32<kSimtBlock, kSimtThreads>(do_tile, kWidth, static_cast<const T*>(p.dout) + q_row0 * p.value_dim,
                                              rows, p.value_dim);
      for (int i = static_cast<int>(threadIdx.x); i < kSimtBlock; i += kSimtThreads) {
        lse[i] = i < rows ? p.lse2[q_row0 + i] : INFINITY;
        delta[i] = i < rows ? p.delta[q_row0 + i] : 0.f;
      }
      __syncthreads();
      float s[2][4] = {}, dpt[2][4] = {};
      for (int d = 0; d < p.head_dim; ++d) {
        const float k0 = k_tile[(2 * ty) * kStride + d], k1 = k_tile[(2 * ty + 1) * kStride + d];
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const float qv = q_tile[(tx + 8 * c) * kStride + d];
          s[0][c] = fmaf(k0, qv, s[0][c]);
          s[1][c] = fmaf(k1, qv, s[1][c]);
        }
      }
      for (int d = 0; d < p.value_dim; ++d) {
        const float v0 = v_tile[(2 * ty) * kStride + d], v1 = v_tile[(2 * ty + 1) * kStride + d];
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const float ov = do_tile[(tx + 8 * c) * kStride + d];
          dpt[0][c] = fmaf(v0, ov, dpt[0][c]);
          dpt[1][c] = fmaf(v1, ov, dpt[1][c]);
        }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int j = n0 + 2 * ty + r;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const int i_local = tx + 8 * c;
          const bool visible = key_ok[r] && (!p.causal || j <= m0 + i_local + p.causal_shift);
          const float pr = visible ? exp2f(s[r][c] * p.scale_log2 - lse[i_local]) : 0.f;
          p_tile[(2 * ty + r) * kPStride + i_local] = pr;
          ds_tile[(2 * ty + r) * kPStride + i_local] = pr * (dpt[r][c] - delta[i_local]);
        }
      }
      __syncwarp();  // the key pair's rows are written by its own 8 lanes
      for (int i = 0; i < rows; ++i) {
        const float p0 = p_tile[(2 * ty) * kPStride + i], p1 = p_tile[(2 * ty + 1) * kPStride + i];
        const float s0 = ds_tile[(2 * ty) * kPStride + i], s1 = ds_tile[(2 * ty + 1) * kPStride + i];
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const float ov = do_tile[i * kStride + tx + 8 * c], qv = q_tile[i * kStride + tx + 8 * c];
          dv[0][c] = fmaf(p0, ov, dv[0][c]);
          dv[1][c] = fmaf(p1, ov, dv[1][c]);
          dk[0][c] = fmaf(s0, qv, dk[0][c]);
          dk[1][c] = fmaf(s1, qv, dk[1][c]);
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (2 * ty + r >= keys) continue;
    T* dk_row = static_cast<T*>(p.dk) + (kv_row0 + 2 * ty + r) * p.head_dim;
    T* dv_row = static_cast<T*>(p.dv) + (kv_row0 + 2 * ty + r) * p.value_dim;
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      if (tx + 8 * c < p.head_dim) dk_row[tx + 8 * c] = from_f32<T>(dk[r][c] * p.scale);
      if (tx + 8 * c < p.value_dim) dv_row[tx + 8 * c] = from_f32<T>(dv[r][c]);
    }
  }
}

// dq: one CTA per (batch * query head, 32 query rows), looping over 32-key tiles.
template <typename T, int kWidth>
__global__ void __launch_bounds__(kSimtThreads) attention_backward_dq_simt(const AttentionParams p) {
  constexpr int kCols = kWidth / 8, kStride = kWidth + 1, kPStride = kSimtBlock + 1;
  extern __shared__ float shared_f32[];
  float* q_tile = shared_f32;                      // (32 queries, kWidth)
  float* do_tile = q_tile + kSimtBlock * kStride;  // (32 queries, kWidth)
  float* k_tile = do_tile + kSimtBlock * kStride;  // (32 keys, kWidth)
  float* v_tile = k_tile + kSimtBlock * kStride;   // (32 keys, kWidth)
  float* ds_tile = v_tile + kSimtBlock * kStride;  // (32 queries, 32 keys)

  const int ty = static_cast<int>(threadIdx.x) / 8, tx = static_cast<int>(threadIdx.x) % 8;
  const int bh = static_cast<int>(blockIdx.x);
  const int b = bh / p.q_heads, h = bh % p.q_heads;
  const int64_t kv_head = static_cast<int64_t>(b) * p.kv_heads + h / p.group;
  const int m0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * kSimtBlock;
  const int rows = min(kSimtBlock, p.q_len - m0);
  const int64_t q_row0 = static_cast<int64_t>(bh) * p.q_len + m0;
  const T* k = static_cast<const T*>(p.k) + kv_head * p.kv_len * p.head_dim;
  const T* v = static_cast<const T*>(p.v) + kv_head * p.kv_len * p.value_dim;
  const uint8_t* mask = p.key_mask ? p.key_mask + static_cast<int64_t>(b) * p.kv_len : nullptr;
  const int key_end = p.causal ? max(0, min(p.kv_len, m0 + rows + p.causal_shift)) : p.kv_len;

  load_tile_f32<kSimtBlock, kSimtThreads>(q_tile, kWidth, static_cast<const T*>(p.q) + q_row0 * p.head_dim, rows,
                                          p.head_dim);
  load_tile_f32<kSimtBlock, kSimtThreads>(do_tile, kWidth, static_cast<const T*>(p.dout) + q_row0 * p.value_dim, rows,
                                          p.value_dim);
  float row_lse[2], row_delta[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int i = 2 * ty + r;
    row_lse[r] = i < rows ? p.lse2[q_row0 + i] : INFINITY;
    row_delta[r] = i < rows ? p.delta[q_row0 + i] : 0.f;
  }
  float dq[2][kCols] = {};
  for (int j0 = 0; j0 < key_end; j0 += kSimtBlock) {
    const int keys = min(kSimtBlock, p.kv_len - j0);
    __syncthreads();  // the previous tiles are used up
    load_tile_f32<kSimtBlock, kSimtThreads>(k_tile, kWidth, k + static_cast<int64_t>(j0) * p.head_dim, keys,
                                            p.head_dim);
    load_tile_f32<kSimtBlock, kSimtThreads>(v_tile, kWidth, v + static_cast<int64_t>(j0) * p.value_dim, keys,
                                            p.value_dim);
    __syncthreads();
    float s[2][4] = {}, dp[2][4] = {};
    for (int d = 0; d < p.head_dim; ++d) {
      const float q0 = q_tile[(2 * ty) * kStride + d], q1 = q_tile[(2 * ty + 1) * kStride + d];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float kv = k_tile[(tx + 8 * c) * kStride + d];
        s[0][c] = fmaf(q0, kv, s[0][c]);
        s[1][c] = fmaf(q1, kv, s[1][c]);
      }
    }
    for (int d = 0; d < p.value_dim; ++d) {
      const float o0 = do_tile[(2 * ty) * kStride + d], o1 = do_tile[(2 * ty + 1) * kStride + d];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float vv = v_tile[(tx + 8 * c) * kStride + d];
        dp[0][c] = fmaf(o0, vv, dp[0][c]);
        dp[1][c] = fmaf(o1, vv, dp[1][c]);
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = m0 + 2 * ty + r;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int j = j0 + tx + 8 * c;
        const bool visible =
            j < p.kv_len && (mask == nullptr || mask[j] != 0) && (!p.causal || j <= i + p.causal_shift);
        const float pr = visible ? exp2f(s[r][c] * p.scale_log2 - row_lse[r]) : 0.f;
        ds_tile[(2 * ty + r) * kPStride + tx + 8 * c] = pr * (dp[r][c] - row_delta[r]);
      }
    }
    __syncwarp();  // the row pair's dS is written by its own 8 lanes
    for (int j = 0; j < keys; ++j) {
      const float s0 = ds_tile[(2 * ty) * kPStride + j], s1 = ds_tile[(2 * ty + 1) * kPStride + j];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const float kv = k_tile[j * kStride + tx + 8 * c];
        dq[0][c] = fmaf(s0, kv, dq[0][c]);
        dq[1][c] = fmaf(s1, kv, dq[1][c]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (2 * ty + r >= rows) continue;
    T* dq_row = static_cast<T*>(p.dq) + (q_row0 + 2 * ty + r) * p.head_dim;
#pragma unroll
    for (int c = 0; c < kCols; ++c)
      if (tx + 8 * c < p.head_dim) dq_row[tx + 8 * c] = from_f32<T>(dq[r][c] * p.scale);
  }
}

// ---- launches ----

template <typename T, int kD, int kWarps, int kBlockM, int kBlockN>
void launch_backward_tc(const AttentionParams& p, int64_t batch, cudaStream_t stream) {
  constexpr size_t dkdv_shared = dkdv_tc_shared_bytes<T, kD, kWarps, kBlockM>();
  const auto dkdv = attention_backward_dkdv_tc<T, kD, kWarps, kBlockM>;
  allow_shared_memory(dkdv, dkdv_shared);
  const dim3 dkdv_grid(static_cast<unsigned>(batch * p.kv_heads),
                       static_cast<unsigned>((p.kv_len + 16 * kWarps - 1) / (16 * kWarps)));
  dkdv<<<dkdv_grid, kWarps * 32, dkdv_shared, stream>>>(p);
  HANVIT_CUDA_CHECK_LAUNCH("attention_backward_dkdv_tc");
  if (batch * p.q_heads * p.q_len == 0) return;
  constexpr size_t dq_shared = dq_tc_shared_bytes<T, kD, kBlockN>();
  const auto dq = attention_backward_dq_tc<T, kD, kBlockN>;
  allow_shared_memory(dq, dq_shared);
  const dim3 dq_grid(static_cast<unsigned>(batch * p.q_heads), static_cast<unsigned>((p.q_len + 63) / 64));
  dq<<<dq_grid, 128, dq_shared, stream>>>(p);
  HANVIT_CUDA_CHECK_LAUNCH("attention_backward_dq_tc");
}

template <typename T, int kWidth>
void launch_backward_simt(const AttentionParams& p, int64_t batch, cudaStream_t stream) {
  constexpr size_t shared = backward_simt_shared_bytes<kWidth>();
  const auto dkdv = attention_backward_dkdv_simt<T, kWidth>;
  allow_shared_memory(dkdv, shared);
  const dim3 dkdv_grid(static_cast<unsigned>(batch * p.kv_heads),
                       static_cast<unsigned>((p.kv_len + kSimtBlock - 1) / kSimtBlock));
  dkdv<<<dkdv_grid, kSimtThreads, shared, stream>>>(p);
  HANVIT_CUDA_CHECK_LAUNCH("attention_backward_dkdv_simt");
  if (batch * p.q_heads * p.q_len == 0) return;
  const auto dq = attention_backward_dq_simt<T, kWidth>;
  allow_shared_memory(dq, shared);
  const dim3 dq_grid(static_cast<unsigned>(batch * p.q_heads),
                     static_cast<unsigned>((p.q_len + kSimtBlock - 1) / kSimtBlock));
  dq<<<dq_grid, kSimtThreads, shared, stream>>>(p);
  HANVIT_CUDA_CHECK_LAUNCH("attention_backward_dq_simt");
}

template <typename T>
void launch_backward(const AttentionParams& p, int64_t batch, cudaStream_t stream) {
  if constexpr (std::is_same_v<T, float>) {
    switch (attention_simt_width(p)) {
      case 32:
        launch_backward_simt<T, 32>(p, batch, stream);
        break;
      case 64:
        launch_backward_simt<T, 64>(p, batch, stream);
        break;
      case 128:
        launch_backward_simt<T, 128>(p, batch, stream);
        break;
      default:
        launch_backward_simt<T, 256>(p, batch, stream);
        break;
    }
  } else {
    if (!attention_fits_tensor_cores(p))
      launch_backward_simt<T, 256>(p, batch, stream);
    else if (attention_padded_dim(p) == 64)
      launch_backward_tc<T, 64, 4, 32, 64>(p, batch, stream);
    else
      launch_backward_tc<T, 128, 4, 32, 64>(p, batch, stream);
  }
}

}  // namespace

size_t attention_backward_scratch_bytes(const AttentionShape& shape) {
  return 2 * sizeof(float) * static_cast<size_t>(shape.batch * shape.q_heads * shape.q_len);
}

void attention_backward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                        const uint8_t* key_mask, const void* dout, bool causal, float scale, void* dq, void* dk,
                        void* dv, void* scratch, cudaStream_t stream) {
  AttentionParams p = make_attention_params(dtype, shape, q, k, v, key_mask, causal, scale);
  const int64_t batch = shape.batch;
  if (batch * shape.kv_heads * shape.kv_len == 0) {
    // No keys (or no kv heads): every row sees nothing, so dq is zero; dk and dv are empty.
    const size_t dq_bytes =
        static_cast<size_t>(batch * shape.q_heads * shape.q_len * shape.head_dim) * dtype_size(dtype);
    if (dq_bytes > 0) HANVIT_CUDA_CHECK(cudaMemsetAsync(dq, 0, dq_bytes, stream));
    return;
  }
  p.dout = dout;
  p.dq = dq;
  p.dk = dk;
  p.dv = dv;
  p.lse2 = static_cast<float*>(scratch);
  p.delta = p.lse2 + batch * shape.q_heads * shape.q_len;
  p.vec_v = p.vec_v && aligned16(dout);
  p.pairs_dq = pairs_ok(dq, shape.head_dim);
  p.pairs_dk = pairs_ok(dk, shape.head_dim);
  p.pairs_dv = pairs_ok(dv, shape.value_dim);
  if (batch * shape.q_heads * shape.q_len > 0) launch_attention_row_stats(dtype, p, batch, stream);
  HANVIT_DISPATCH_FLOAT(dtype, "attention_backward", T, { launch_backward<T>(p, batch, stream); });
}

}  // namespace hanvit::cuda
