// Row-major f32 GEMM: packed, cache-blocked 14x32 AVX-512 FMA micro-kernel (Eigen on CPUs without AVX-512).
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#else
#include <Eigen/Core>
#endif

namespace hanvit::cpu {
namespace {

std::string matrix_str(const char* name, int64_t rows, int64_t cols) {
  return std::string(name) + " (" + std::to_string(rows) + "," + std::to_string(cols) + ")";
}

// Validates one product's sizes, strides and pointers; `op` names the public entry point in messages.
void check_gemm_args(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                     int64_t lda, const float* B, int64_t ldb, const float* C, int64_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    throw std::invalid_argument(std::string(op) + ": negative size M=" + std::to_string(M) + " N=" + std::to_string(N) +
                                " K=" + std::to_string(K));
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  const auto check_ld = [&](const char* name, const char* ld_name, int64_t rows, int64_t cols, int64_t ld) {
    if (ld < cols || ld < 0)
      throw std::invalid_argument(std::string(op) + ": " + ld_name + "=" + std::to_string(ld) +
                                  " is smaller than the " + std::to_string(cols) + " columns of " +
                                  matrix_str(name, rows, cols));
  };
  check_ld("A", "lda", a_rows, a_cols, lda);
  check_ld("B", "ldb", b_rows, b_cols, ldb);
  check_ld("C", "ldc", M, N, ldc);
  if (M > 0 && N > 0 && C == nullptr)
    throw std::invalid_argument(std::string(op) + ": C is null for " + matrix_str("C", M, N));
  if (M > 0 && N > 0 && K > 0 && (A == nullptr || B == nullptr))
    throw std::invalid_argument(std::string(op) + ": " +
                                (A == nullptr ? matrix_str("A", a_rows, a_cols) : matrix_str("B", b_rows, b_cols)) +
                                " is null");
}

// C (M, N) = beta * C, writing zeros (not 0 * C) when beta == 0.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f)
      std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

// One product C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, with views of sub-products.
struct Gemm {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;

  // Rows [i0, i1) of C.
  Gemm rows(int64_t i0, int64_t i1) const {
    Gemm g = *this;
    g.M = i1 - i0;
    g.A = trans_a ? A + i0 : A + i0 * lda;
    g.C = C + i0 * ldc;
    return g;
  }
  // Columns [j0, j1) of C.
  Gemm cols(int64_t j0, int64_t j1) const {
    Gemm g = *this;
    g.N = j1 - j0;
    g.B = trans_b ? B + j0 * ldb : B + j0;
    g.C = C + j0;
    return g;
  }
  // Matrix i of a batch at element strides (stride_a, stride_b, stride_c).
  Gemm item(int64_t i, int64_t stride_a, int64_t stride_b, int64_t stride_c) const {
    Gemm g = *this;
    g.A = A + i * stride_a;
    g.B = B + i * stride_b;
    g.C = C + i * stride_c;
    return g;
  }
};

// Products below this many multiply-adds run on one thread: the fork costs more than it saves.
constexpr int64_t kParallelMinWork = int64_t{1} << 18;

int team_size(const Gemm& g) {
  return omp_in_parallel() || g.M * g.N * g.K < kParallelMinWork ? 1 : omp_get_max_threads();
}

// Range [begin, end) of part `t` of `n` equal parts of `tiles` tiles of `tile` elements, clipped to `total`.
std::pair<int64_t, int64_t> tile_range(int64_t tiles, int64_t tile, int64_t total, int64_t t, int64_t n) {
  return {tiles * t / n * tile, std::min(total, tiles * (t + 1) / n * tile)};
}

#ifdef __AVX512F__

constexpr int64_t kMR = 14;         // rows of the register tile: 14 x 2 zmm accumulators
constexpr int64_t kNR = 32;         // columns of the register tile: 2 zmm
constexpr int64_t kKC = 512;        // depth of a packed block (tuned: 128..640 measured, 448..640 within noise)
constexpr int64_t kMC = 336;        // rows of the packed A block (MC x KC, 672 KiB) kept in the 1 MiB L2
constexpr int64_t kNC = 4096;       // columns of the packed B panel (KC x NC, 8 MiB) kept in L3
constexpr int64_t kPrefetchC = 64;  // depth steps before the end of a micro-kernel at which C is prefetched

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A 64-byte aligned float buffer that only grows.
struct AlignedBuffer {
  std::unique_ptr<float[], FreeDeleter> data;
  size_t size = 0;

  float* reserve(size_t want) {
    if (size < want) {
      data.reset(static_cast<float*>(std::aligned_alloc(64, (want * sizeof(float) + 63) / 64 * 64)));
      if (!data) throw std::bad_alloc();
      size = want;
    }
    return data.get();
  }
};

// Packing buffers of the calling thread, one (A, B) pair per thread of the team it starts; reused across calls
// and allocated before any parallel region (nothing throws inside one).
struct Workspace {
  std::vector<AlignedBuffer> a, b;

  // Buffers for `threads` threads on products up to (M, N, K); B buffers for the first `b_threads` only.
  void reserve(int64_t threads, int64_t b_threads, int64_t M, int64_t N, int64_t K) {
    const auto round_up = [](int64_t x, int64_t unit) { return (x + unit - 1) / unit * unit; };
    const int64_t kc = std::min(round_up(K, 16), kKC);
    if (a.size() < static_cast<size_t>(threads)) a.resize(threads);
    if (b.size() < static_cast<size_t>(b_threads)) b.resize(b_threads);
    for (int64_t t = 0; t < threads; ++t) a[t].reserve(static_cast<size_t>(std::min(round_up(M, kMR), kMC) * kc));
    for (int64_t t = 0; t < b_threads; ++t) b[t].reserve(static_cast<size_t>(std::min(round_up(N, kNR), kNC) * kc));
  }
};

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// Mask of the first n (0..16) lanes.
__mmask16 lanes(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1); }

// Lane indices of the butterfly stages of a 16x16 transpose, stage s swapping off-diagonal blocks of b = 8 >> s:
// row i (bit b clear) takes lane j from row i (j & b clear) or from lane j - b of row i + b; row i + b the rest.
struct TransposeIndices {
  alignas(64) int32_t lo[4][16];
  alignas(64) int32_t hi[4][16];
};

constexpr TransposeIndices make_transpose_indices() {
  TransposeIndices t{};
  for (int s = 0; s < 4; ++s) {
    const int b = 8 >> s;
    for (int j = 0; j < 16; ++j) {  // lanes 0..15 address the first source, 16..31 the second
      t.lo[s][j] = (j & b) ? 16 + j - b : j;
      t.hi[s][j] = (j & b) ? 16 + j : j + b;
    }
  }
  return t;
}

constexpr TransposeIndices kTransposeIndices = make_transpose_indices();

// In-register transpose: r[i][j] becomes r[j][i] for a 16x16 block of floats.
void transpose16x16(__m512 r[16]) {
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    const int b = 8 >> s;
    const __m512i lo = _mm512_load_si512(kTransposeIndices.lo[s]), hi = _mm512_load_si512(kTransposeIndices.hi[s]);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      if (i & b) continue;
      const __m512 x = r[i], y = r[i + b];
      r[i] = _mm512_permutex2var_ps(x, lo, y);
      r[i + b] = _mm512_permutex2var_ps(x, hi, y);
    }
  }
}

// Writes the transpose of `rows` (each a run of kc contiguous floats at src + i * ld, missing rows read as zero)
// as kc output rows of `width` floats at dst + k * dst_ld: dst[k * dst_ld + i] = src[i * ld + k], i < width <= 16.
void pack_transposed(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t width, float* dst,
                     int64_t dst_ld) {
  __m512 r[16];
  const __mmask16 out_mask = lanes(width);
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    const int64_t kn = std::min<int64_t>(16, kc - k0);
    const __mmask16 in_mask = lanes(kn);
    for (int i = 0; i < 16; ++i)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(in_mask, src + i * ld + k0) : _mm512_setzero_ps();
    transpose16x16(r);
    for (int64_t k = 0; k < kn; ++k) _mm512_mask_storeu_ps(dst + (k0 + k) * dst_ld, out_mask, r[k]);
  }
}

// Packs op(A) rows [0, mc) x depth [0, kc) into MR-row micro-panels, each (kc, MR) with zero-padded rows.
// `a` points at op(A)(0, 0) of the block.
void pack_a(bool trans_a, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += kMR, dst += kMR * kc) {
    const int64_t mr = std::min(kMR, mc - i0);
    if (trans_a) {  // op(A)(i, k) = a[k * lda + i]: each k is a contiguous run of mr rows
      const __mmask16 in_mask = lanes(mr), out_mask = lanes(kMR);
      for (int64_t k = 0; k < kc; ++k)
        _mm512_mask_storeu_ps(dst + k * kMR, out_mask, _mm512_maskz_loadu_ps(in_mask, a + k * lda + i0));
    } else {  // op(A)(i, k) = a[i * lda + k]: each row is contiguous in k
      pack_transposed(a + i0 * lda, lda, mr, kc, kMR, dst, kMR);
    }
  }
}

// Packs op(B) depth [0, kc) x columns [0, nc) into NR-column micro-panels, each (kc, NR) with zero-padded columns.
// `b` points at op(B)(0, 0) of the block.
void pack_b(bool trans_b, const float* b, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += kNR, dst += kNR * kc) {
    const int64_t nr = std::min(kNR, nc - j0);
    if (trans_b) {  // op(B)(k, j) = b[j * ldb + k]: each column is contiguous in k
      pack_transposed(b + j0 * ldb, ldb, nr, kc, 16, dst, kNR);
      pack_transposed(nr > 16 ? b + (j0 + 16) * ldb : b, ldb, nr - 16, kc, 16, dst + 16, kNR);
    } else {  // op(B)(k, j) = b[k * ldb + j]: each k is a contiguous run of nr columns
      const __mmask16 m0 = lanes(nr), m1 = lanes(std::max<int64_t>(nr - 16, 0));
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = b + k * ldb + j0;
        _mm512_store_ps(dst + k * kNR, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + k * kNR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
    }
  }
}

// C (mr, nr) = alpha * a (MR, kc) * b (kc, NR) + beta * C for packed micro-panels; beta == 0 never reads C.
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                  float alpha, float beta) {
  __m512 acc0[kMR], acc1[kMR];
#pragma GCC unroll 14
  for (int r = 0; r < kMR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  const auto step = [&] {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int r = 0; r < kMR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
    }
    a += kMR;
    b += kNR;
  };
  // C is fetched kPrefetchC steps before the end: early enough to hide the miss, late enough to stay in L1.
  const int64_t k_prefetch = std::max<int64_t>(kc - kPrefetchC, 0);
  for (int64_t k = 0; k < k_prefetch; ++k) step();
  for (int64_t r = 0; r < mr; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + nr - 1), _MM_HINT_T0);
  }
  for (int64_t k = k_prefetch; k < kc; ++k) step();
  const __mmask16 m0 = lanes(nr), m1 = lanes(std::max<int64_t>(nr - 16, 0));
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int r = 0; r < kMR; ++r) {
    if (r < mr) {
      float* cr = c + r * ldc;
      __m512 x0 = _mm512_mul_ps(acc0[r], va), x1 = _mm512_mul_ps(acc1[r], va);
      if (beta != 0.0f) {
        x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), x0);
        x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), x1);
      }
      _mm512_mask_storeu_ps(cr, m0, x0);
      _mm512_mask_storeu_ps(cr + 16, m1, x1);
    }
  }
}

// Block size for splitting `total` into the fewest blocks of at most `max_block`, evened out and rounded up to a
// multiple of `unit` (so 512 splits as 256 + 256, not 384 + 128).
int64_t even_block(int64_t total, int64_t max_block, int64_t unit) {
  const int64_t blocks = (total + max_block - 1) / max_block;
  return std::min(max_block, ((total + blocks - 1) / blocks + unit - 1) / unit * unit);
}

// Rows [i_begin, i_end) of C, columns [jc, jc + nc), depth [pc, pc + kc) against the packed B panel: loops
// MC (pack A) -> NR -> MR around the micro-kernel.
void multiply_rows(const Gemm& g, int64_t i_begin, int64_t i_end, int64_t jc, int64_t nc, int64_t pc, int64_t kc,
                   const float* b_pack, float* a_pack) {
  const int64_t mc_block = even_block(i_end - i_begin, kMC, kMR);
  const float beta = pc == 0 ? g.beta : 1.0f;
  for (int64_t ic = i_begin; ic < i_end; ic += mc_block) {
    const int64_t mc = std::min(mc_block, i_end - ic);
    pack_a(g.trans_a, g.trans_a ? g.A + pc * g.lda + ic : g.A + ic * g.lda + pc, g.lda, mc, kc, a_pack);
    for (int64_t jr = 0; jr < nc; jr += kNR) {
      const int64_t nr = std::min(kNR, nc - jr);
      for (int64_t ir = 0; ir < mc; ir += kMR)
        micro_kernel(kc, a_pack + ir * kc, b_pack + jr * kc, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc,
                     std::min(kMR, mc - ir), nr, g.alpha, beta);
    }
  }
}

// Packs op(B) columns [j_begin, j_end) of the panel (jc, pc) into its NR-column micro-panels of b_pack.
void pack_b_panels(const Gemm& g, int64_t jc, int64_t pc, int64_t kc, int64_t j_begin, int64_t j_end, float* b_pack) {
  const int64_t j = jc + j_begin;
  pack_b(g.trans_b, g.trans_b ? g.B + j * g.ldb + pc : g.B + pc * g.ldb + j, g.ldb, kc, j_end - j_begin,
         b_pack + j_begin * kc);
}

// One thread's product: loops NC -> KC (pack B) -> the rows of multiply_rows.
void gemm_serial(const Gemm& g, float* a_pack, float* b_pack) {
  const int64_t nc_block = even_block(g.N, kNC, kNR), kc_block = even_block(g.K, kKC, 16);
  for (int64_t jc = 0; jc < g.N; jc += nc_block) {
    const int64_t nc = std::min(nc_block, g.N - jc);
    for (int64_t pc = 0; pc < g.K; pc += kc_block) {
      const int64_t kc = std::min(kc_block, g.K - pc);
      pack_b_panels(g, jc, pc, kc, 0, nc, b_pack);
      multiply_rows(g, 0, g.M, jc, nc, pc, kc, b_pack, a_pack);
    }
  }
}

// A team on one product: the threads pack disjoint micro-panels of one shared B panel, then each multiplies its
// own rows of C against it (packing its own A blocks), so A and B are both packed once.
void gemm_shared_b(const Gemm& g, int threads, Workspace& ws) {
  ws.reserve(threads, 1, g.M, g.N, g.K);
  const int64_t nc_block = even_block(g.N, kNC, kNR), kc_block = even_block(g.K, kKC, 16);
  const int64_t tiles_m = (g.M + kMR - 1) / kMR;
  float* b_pack = ws.b[0].data.get();
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const auto [i_begin, i_end] = tile_range(tiles_m, kMR, g.M, t, nt);
    float* a_pack = ws.a[t].data.get();
    for (int64_t jc = 0; jc < g.N; jc += nc_block) {
      const int64_t nc = std::min(nc_block, g.N - jc);
      const auto [j_begin, j_end] = tile_range((nc + kNR - 1) / kNR, kNR, nc, t, nt);
      for (int64_t pc = 0; pc < g.K; pc += kc_block) {
        const int64_t kc = std::min(kc_block, g.K - pc);
        if (j_begin < j_end) pack_b_panels(g, jc, pc, kc, j_begin, j_end, b_pack);
#pragma omp barrier
        multiply_rows(g, i_begin, i_end, jc, nc, pc, kc, b_pack, a_pack);
#pragma omp barrier
      }
    }
  }
}

constexpr int64_t kSmallM = 4;  // products with at most this many rows skip packing and stream B once

// Small-M products (GEMV-like) read op(A) in place; both-transposed ones take the packed path.
bool is_small_m(const Gemm& g) { return g.M <= kSmallM && !(g.trans_a && g.trans_b); }

// Columns [j_begin, j_end) of C (kRows, N) for B stored (K, N). B is read once, a block of kDepth rows at a
// time: within a block, tiles of 64 columns accumulate in registers over the block's rows (C is read and
// written once per block, not once per row), with the next tiles of each row prefetched. Rows of a block
// shared by the tiles stay in L2.
template <int kRows>
void small_m_columns(const Gemm& g, int64_t j_begin, int64_t j_end) {
  constexpr int64_t kDepth = 32, kTile = 64, kAhead = 128;  // rows per block, columns per tile, prefetch distance
  const auto a = [&](int i, int64_t k) { return g.alpha * (g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k]); };
  scale_c(kRows, j_end - j_begin, g.beta, g.C + j_begin, g.ldc);
  for (int64_t k0 = 0; k0 < g.K; k0 += kDepth) {
    const int64_t k1 = std::min(g.K, k0 + kDepth);
    for (int64_t j = j_begin; j < j_end; j += kTile) {
      const int64_t w = std::min(kTile, j_end - j);
      __mmask16 mask[4];
      for (int v = 0; v < 4; ++v) mask[v] = lanes(std::max<int64_t>(0, w - 16 * v));
      __m512 acc[kRows][4];
      for (int i = 0; i < kRows; ++i)
        for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_maskz_loadu_ps(mask[v], g.C + i * g.ldc + j + 16 * v);
      for (int64_t k = k0; k < k1; ++k) {
        const float* row = g.B + k * g.ldb + j;
        if (j + kAhead < j_end)
          for (int v = 0; v < 4; ++v) _mm_prefetch(reinterpret_cast<const char*>(row + kAhead + 16 * v), _MM_HINT_T0);
        __m512 b[4];
        for (int v = 0; v < 4; ++v) b[v] = _mm512_maskz_loadu_ps(mask[v], row + 16 * v);
        for (int i = 0; i < kRows; ++i) {
          const __m512 ai = _mm512_set1_ps(a(i, k));
          for (int v = 0; v < 4; ++v) acc[i][v] = _mm512_fmadd_ps(ai, b[v], acc[i][v]);
        }
      }
      for (int i = 0; i < kRows; ++i)
        for (int v = 0; v < 4; ++v) _mm512_mask_storeu_ps(g.C + i * g.ldc + j + 16 * v, mask[v], acc[i][v]);
    }
  }
}

// The sum of the 16 lanes, through memory: GCC 12 warns on the undefined start values inside
// _mm512_reduce_add_ps and the 512-bit extract intrinsics.
inline float horizontal_sum(__m512 v) {
  alignas(64) float lanes_of_v[16];
  _mm512_store_ps(lanes_of_v, v);
  float sum = 0.0f;
  for (float lane : lanes_of_v) sum += lane;
  return sum;
}

// Columns [j_begin, j_end) of C (kRows, N) for B stored (N, K): dot products of A's rows with 4 rows of B at a
// time. The main loop uses full-width loads and prefetches the next group's rows, so the stream of B (the
// weights, in decoding) runs near the memory bandwidth; the K tail is masked.
template <int kRows>
void small_m_columns_bt(const Gemm& g, int64_t j_begin, int64_t j_end) {
  constexpr int kGroup = 4;
  const float* A = g.A;
  const float* B = g.B;
  const int64_t K = g.K, lda = g.lda, ldb = g.ldb, k_full = K / 16 * 16;
  const __mmask16 tail = lanes(K - k_full);
  for (int64_t j = j_begin; j < j_end; j += kGroup) {
    const int64_t nj = std::min<int64_t>(kGroup, j_end - j);
    const int64_t prefetch_end = std::min<int64_t>(j + nj + kGroup, j_end);
    __m512 acc[kRows][kGroup];
    for (int i = 0; i < kRows; ++i)
      for (int q = 0; q < kGroup; ++q) acc[i][q] = _mm512_setzero_ps();
    for (int64_t k = 0; k < k_full; k += 16) {
      __m512 ai[kRows];
      for (int i = 0; i < kRows; ++i) ai[i] = _mm512_loadu_ps(A + i * lda + k);
      for (int q = 0; q < kGroup; ++q) {
        if (q >= nj) break;
        if (j + q + kGroup < prefetch_end)
          _mm_prefetch(reinterpret_cast<const char*>(B + (j + q + kGroup) * ldb + k), _MM_HINT_T0);
        const __m512 bq = _mm512_loadu_ps(B + (j + q) * ldb + k);
        for (int i = 0; i < kRows; ++i) acc[i][q] = _mm512_fmadd_ps(ai[i], bq, acc[i][q]);
      }
    }
    if (k_full < K) {
      __m512 ai[kRows];
      for (int i = 0; i < kRows; ++i) ai[i] = _mm512_maskz_loadu_ps(tail, A + i * lda + k_full);
      for (int q = 0; q < nj; ++q) {
        const __m512 bq = _mm512_maskz_loadu_ps(tail, B + (j + q) * ldb + k_full);
        for (int i = 0; i < kRows; ++i) acc[i][q] = _mm512_fmadd_ps(ai[i], bq, acc[i][q]);
      }
    }
    for (int i = 0; i < kRows; ++i)
      for (int64_t q = 0; q < nj; ++q) {
        float* c = g.C + i * g.ldc + j + q;
        const float sum = g.alpha * horizontal_sum(acc[i][q]);
        *c = g.beta == 0.0f ? sum : sum + g.beta * *c;
      }
  }
}

void small_m(const Gemm& g, int64_t j_begin, int64_t j_end) {
  const auto run = [&]<int kRows>() {
    if (g.trans_b)
      small_m_columns_bt<kRows>(g, j_begin, j_end);
    else
      small_m_columns<kRows>(g, j_begin, j_end);
  };
  switch (g.M) {
    case 1:
      run.template operator()<1>();
      break;
    case 2:
      run.template operator()<2>();
      break;
    case 3:
      run.template operator()<3>();
      break;
    default:
      run.template operator()<4>();
      break;
  }
}

// One product on up to `threads` threads: small-M products stream B; otherwise rows split over a shared B panel
// when C has enough row tiles, else columns split with a private B panel per thread.
void gemm_team(const Gemm& g, int threads) {
  if (is_small_m(g)) {  // 64-column tiles split across the threads, no packing
    const int64_t tiles = (g.N + 63) / 64;
    threads = static_cast<int>(std::min<int64_t>(threads, tiles));
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const auto [j_begin, j_end] = tile_range(tiles, 64, g.N, omp_get_thread_num(), omp_get_num_threads());
      small_m(g, j_begin, j_end);
    }
    return;
  }
  Workspace& ws = workspace();
  const int64_t tiles_m = (g.M + kMR - 1) / kMR, tiles_n = (g.N + kNR - 1) / kNR;
  if (threads > 1 && tiles_m >= 2 * threads) {
    gemm_shared_b(g, threads, ws);
    return;
  }
  threads = static_cast<int>(std::min<int64_t>(threads, tiles_n));
  if (threads <= 1) {
    ws.reserve(1, 1, g.M, g.N, g.K);
    gemm_serial(g, ws.a[0].data.get(), ws.b[0].data.get());
    return;
  }
  ws.reserve(threads, threads, g.M, g.N, g.K);
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    const auto [j_begin, j_end] = tile_range(tiles_n, kNR, g.N, t, omp_get_num_threads());
    gemm_serial(g.cols(j_begin, j_end), ws.a[t].data.get(), ws.b[t].data.get());
  }
}

// A batch of products, one whole product per thread at a time.
void gemm_batch_team(const Gemm& g, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c, int threads) {
  const bool small = is_small_m(g);
  Workspace& ws = workspace();
  if (!small) ws.reserve(threads, threads, g.M, g.N, g.K);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < batch; ++i) {
    const Gemm gi = g.item(i, stride_a, stride_b, stride_c);
    const int t = omp_get_thread_num();
    if (small)
      small_m(gi, 0, gi.N);
    else
      gemm_serial(gi, ws.a[t].data.get(), ws.b[t].data.get());
  }
}

#else

// One thread's product through Eigen (EIGEN_DONT_PARALLELIZE: threads are split by the caller).
void gemm_serial(const Gemm& g) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<> >;
  const ConstMap a(g.A, g.trans_a ? g.K : g.M, g.trans_a ? g.M : g.K, Eigen::OuterStride<>(g.lda));
  const ConstMap b(g.B, g.trans_b ? g.N : g.K, g.trans_b ? g.K : g.N, Eigen::OuterStride<>(g.ldb));
  Eigen::Map<RowMatrix, 0, Eigen::OuterStride<> > c(g.C, g.M, g.N, Eigen::OuterStride<>(g.ldc));
  const auto run = [&](const auto& op_a, const auto& op_b) {
    if (g.beta == 0.0f) {
      c.noalias() = g.alpha * (op_a * op_b);
    } else {
      if (g.beta != 1.0f) c *= g.beta;
      c.noalias() += g.alpha * (op_a * op_b);
    }
  };
  if (g.trans_a && g.trans_b)
    run(a.transpose(), b.transpose());
  else if (g.trans_a)
    run(a.transpose(), b);
  else if (g.trans_b)
    run(a, b.transpose());
  else
    run(a, b);
}

// One product on up to `threads` threads: the larger of M and N split into equal parts.
void gemm_team(const Gemm& g, int threads) {
  constexpr int64_t kTileM = 8, kTileN = 16;
  const int64_t tiles_m = (g.M + kTileM - 1) / kTileM, tiles_n = (g.N + kTileN - 1) / kTileN;
  const bool split_n = tiles_n >= tiles_m;
  threads = static_cast<int>(std::min<int64_t>(threads, split_n ? tiles_n : tiles_m));
  if (threads <= 1) {
    gemm_serial(g);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (split_n) {
      const auto [j_begin, j_end] = tile_range(tiles_n, kTileN, g.N, t, nt);
      gemm_serial(g.cols(j_begin, j_end));
    } else {
      const auto [i_begin, i_end] = tile_range(tiles_m, kTileM, g.M, t, nt);
      gemm_serial(g.rows(i_begin, i_end));
    }
  }
}

// A batch of products, one whole product per thread at a time.
void gemm_batch_team(const Gemm& g, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < batch; ++i) gemm_serial(g.item(i, stride_a, stride_b, stride_c));
}

#endif

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_gemm_args("gemm_f32", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const Gemm g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  gemm_team(g, team_size(g));
}

void gemm_batched_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch,
                      int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  check_gemm_args("gemm_batched_f32", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (batch < 0 || stride_a < 0 || stride_b < 0 || stride_c < 0 || (batch > 1 && stride_c == 0 && M > 0 && N > 0))
    throw std::invalid_argument("gemm_batched_f32: batch " + std::to_string(batch) + " with strides A " +
                                std::to_string(stride_a) + ", B " + std::to_string(stride_b) + ", C " +
                                std::to_string(stride_c) +
                                " (need batch >= 0, strides >= 0 and a positive C stride when batch > 1)");
  if (M == 0 || N == 0 || batch == 0) return;
  if (K == 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < batch; ++i) scale_c(M, N, beta, C + i * stride_c, ldc);
    return;
  }
  const Gemm g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  // Whole products per thread unless that leaves threads idle on products big enough to split.
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool per_thread = M * N * K < kParallelMinWork || batch % threads == 0 || batch >= 4 * threads;
  if (threads > 1 && batch > 1 && per_thread) {
    gemm_batch_team(g, batch, stride_a, stride_b, stride_c, static_cast<int>(std::min<int64_t>(threads, batch)));
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    const Gemm gi = g.item(i, stride_a, stride_b, stride_c);
    gemm_team(gi, team_size(gi));
  }
}

}  // namespace hanvit::cpu
