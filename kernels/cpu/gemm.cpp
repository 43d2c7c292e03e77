// Row-major f32 GEMM: BLIS-style packing and cache blocking around a 14x32 AVX-512 FMA micro-kernel (Eigen without AVX-512).
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

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
    throw std::invalid_argument(std::string(op) + ": negative size M=" + std::to_string(M) + " N=" +
                                std::to_string(N) + " K=" + std::to_string(K));
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  const auto check_ld = [&](const char* name, const char* ld_name, int64_t rows, int64_t cols, int64_t ld) {
    if (ld < cols || ld < 0)
      throw std::invalid_argument(std::string(op) + ": " + ld_name + "=" + std::to_string(ld) + " is smaller than the " +
                                  std::to_string(cols) + " columns of " + matrix_str(name, rows, cols));
  };
  check_ld("A", "lda", a_rows, a_cols, lda);
  check_ld("B", "ldb", b_rows, b_cols, ldb);
  check_ld("C", "ldc", M, N, ldc);
  if (M > 0 && N > 0 && C == nullptr)
    throw std::invalid_argument(std::string(op) + ": C is null for " + matrix_str("C", M, N));
  if (M > 0 && N > 0 && K > 0 && (A == nullptr || B == nullptr))
    throw std::invalid_argument(std::string(op) + ": " + (A == nullptr ? matrix_str("A", a_rows, a_cols)
                                                                        : matrix_str("B", b_rows, b_cols)) +
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

#ifdef __AVX512F__

constexpr int64_t kMR = 14;   // rows of the register tile: 14 x 2 zmm accumulators
constexpr int64_t kNR = 32;   // columns of the register tile: 2 zmm
constexpr int64_t kKC = 384;  // depth of a packed block
constexpr int64_t kMC = 336;  // rows of the packed A block (MC x KC, 504 KiB) kept in L2
constexpr int64_t kNC = 4096;  // columns of the packed B panel (KC x NC, 6 MiB) kept in L3
constexpr int64_t kPrefetchC = 64;  // depth steps before the end of a micro-kernel at which C is prefetched

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// Per-thread packing buffers, grown on demand and reused across calls.
struct PackBuffers {
  std::unique_ptr<float[], FreeDeleter> a, b;
  size_t a_size = 0, b_size = 0;

  static float* ensure(std::unique_ptr<float[], FreeDeleter>& buf, size_t& size, size_t want) {
    if (size < want) {
      const size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
      buf.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!buf) throw std::bad_alloc();
      size = want;
    }
    return buf.get();
  }
};

PackBuffers& pack_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
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

// One thread's product: loops NC -> KC (pack B) -> MC (pack A) -> NR -> MR around the micro-kernel.
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t nc_block = even_block(N, kNC, kNR), kc_block = even_block(K, kKC, 16);
  const int64_t mc_block = even_block(M, kMC, kMR);
  PackBuffers& buffers = pack_buffers();
  float* a_pack = PackBuffers::ensure(buffers.a, buffers.a_size, static_cast<size_t>(mc_block * kc_block));
  float* b_pack = PackBuffers::ensure(buffers.b, buffers.b_size, static_cast<size_t>(nc_block * kc_block));
  for (int64_t jc = 0; jc < N; jc += nc_block) {
    const int64_t nc = std::min(nc_block, N - jc);
    for (int64_t pc = 0; pc < K; pc += kc_block) {
      const int64_t kc = std::min(kc_block, K - pc);
      pack_b(trans_b, trans_b ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, b_pack);
      const float beta_block = pc == 0 ? beta : 1.0f;
      for (int64_t ic = 0; ic < M; ic += mc_block) {
        const int64_t mc = std::min(mc_block, M - ic);
        pack_a(trans_a, trans_a ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, a_pack);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t nr = std::min(kNR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += kMR)
            micro_kernel(kc, a_pack + ir * kc, b_pack + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc,
                         std::min(kMR, mc - ir), nr, alpha, beta_block);
        }
      }
    }
  }
}

constexpr int64_t kTileM = kMR, kTileN = kNR;

#else

constexpr int64_t kTileM = 8, kTileN = 16;

// One thread's product through Eigen (EIGEN_DONT_PARALLELIZE: threads are split by the caller).
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
  const ConstMap a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  const ConstMap b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>> c(C, M, N, Eigen::OuterStride<>(ldc));
  const auto run = [&](const auto& op_a, const auto& op_b) {
    if (beta == 0.0f) {
      c.noalias() = alpha * (op_a * op_b);
    } else {
      if (beta != 1.0f) c *= beta;
      c.noalias() += alpha * (op_a * op_b);
    }
  };
  if (trans_a && trans_b)
    run(a.transpose(), b.transpose());
  else if (trans_a)
    run(a.transpose(), b);
  else if (trans_b)
    run(a, b.transpose());
  else
    run(a, b);
}

#endif

// Products below this many multiply-adds run on one thread: the fork costs more than it saves.
constexpr int64_t kParallelMinWork = int64_t{1} << 18;

// Splits the larger of M and N (in register-tile units) across the OpenMP threads.
void gemm_threaded(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t tiles_m = (M + kTileM - 1) / kTileM, tiles_n = (N + kTileN - 1) / kTileN;
  const bool split_n = tiles_n >= tiles_m;
  const int64_t tiles = split_n ? tiles_n : tiles_m;
  int64_t threads = omp_in_parallel() || M * N * K < kParallelMinWork ? 1 : omp_get_max_threads();
  threads = std::min(threads, tiles);
  if (threads <= 1) {
    gemm_serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t tile0 = tiles * t / nt, tile1 = tiles * (t + 1) / nt;
    if (split_n) {
      const int64_t j0 = tile0 * kTileN, j1 = std::min(N, tile1 * kTileN);
      gemm_serial(trans_a, trans_b, M, j1 - j0, K, alpha, A, lda, trans_b ? B + j0 * ldb : B + j0, ldb, beta,
                  C + j0, ldc);
    } else {
      const int64_t i0 = tile0 * kTileM, i1 = std::min(M, tile1 * kTileM);
      gemm_serial(trans_a, trans_b, i1 - i0, N, K, alpha, trans_a ? A + i0 : A + i0 * lda, lda, B, ldb, beta,
                  C + i0 * ldc, ldc);
    }
  }
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_gemm_args("gemm_f32", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  gemm_threaded(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool over_batch = M * N * K < kParallelMinWork || batch % threads == 0 || batch >= 4 * threads;
  if (threads > 1 && batch > 1 && over_batch) {
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(std::min(threads, batch)))
    for (int64_t i = 0; i < batch; ++i)
      gemm_serial(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                  C + i * stride_c, ldc);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemm_threaded(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                  C + i * stride_c, ldc);
}

}  // namespace hanvit::cpu
