// Attention f32 kernels: (batch, head, query block) work items on OpenMP threads; each walks the
// key tiles with an online softmax, block products by a register-blocked AVX-512 micro-kernel.
#include "kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hanvit::cpu {
namespace {

constexpr int64_t kBlockQ = 64;     // query rows per work item
constexpr int64_t kBlockK = 128;    // keys per tile: score tiles are (kBlockQ, kBlockK)
constexpr int64_t kDirectRows = 4;  // fewer query rows than this: scores by dot products over D
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Operand A of a block product: element (i, p) at data[i * row_stride + p * col_stride], so one
// buffer serves as A or as A^T.
struct MatA {
  const float* data;
  int64_t row_stride, col_stride;
};

#if defined(__AVX512F__)

// The zero-masked (maskz, all lanes on) forms of max, shuffles, roundscale and scalef below are the
// plain instructions; GCC 12's unmasked intrinsics trip -Wmaybe-uninitialized in its own headers.
constexpr __mmask16 kAll = 0xFFFF;
constexpr int64_t kLanes = 16;  // floats per zmm register

inline __mmask16 tail_mask(int64_t n) { return n >= kLanes ? kAll : __mmask16((1u << n) - 1u); }

// Horizontal sum and max by in-register shuffles.
inline float hsum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

inline float hmax(__m512 v) {
  v = _mm512_maskz_max_ps(kAll, v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_maskz_max_ps(kAll, v, _mm512_maskz_shuffle_f32x4(kAll, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_maskz_max_ps(kAll, v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_maskz_max_ps(kAll, v, _mm512_maskz_permute_ps(kAll, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

// C rows [0, MR) x columns [0, kLanes * NV) (the last vector limited by `last`) (+)= A B over `depth`:
// MR * NV accumulators stay in registers (6 x 4 of the 32 zmm at most).
template <int MR, int NV>
inline void gemm_tile(int64_t depth, MatA a, const float* b, int64_t ldb, float* c, int64_t ldc, __mmask16 last,
                      bool accumulate) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[r][v] =
          accumulate ? _mm512_maskz_loadu_ps(v == NV - 1 ? last : kAll, c + r * ldc + kLanes * v) : _mm512_setzero_ps();
  for (int64_t p = 0; p < depth; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : kAll, b + p * ldb + kLanes * v);
    const float* ap = a.data + p * a.col_stride;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ap[r * a.row_stride]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + kLanes * v, v == NV - 1 ? last : kAll, acc[r][v]);
}

template <int MR>
void gemm_rows(int64_t n, int64_t depth, MatA a, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  constexpr int64_t kPanel = 4 * kLanes;  // columns per gemm_tile: at most 4 vectors
  for (int64_t n0 = 0; n0 < n; n0 += kPanel) {
    const int64_t width = std::min(kPanel, n - n0);
    const int64_t vectors = (width + kLanes - 1) / kLanes;
    const __mmask16 last = tail_mask(width - kLanes * (vectors - 1));
    switch (vectors) {
      case 1:
        gemm_tile<MR, 1>(depth, a, b + n0, ldb, c + n0, ldc, last, accumulate);
        break;
      case 2:
        gemm_tile<MR, 2>(depth, a, b + n0, ldb, c + n0, ldc, last, accumulate);
        break;
      case 3:
        gemm_tile<MR, 3>(depth, a, b + n0, ldb, c + n0, ldc, last, accumulate);
        break;
      default:
        gemm_tile<MR, 4>(depth, a, b + n0, ldb, c + n0, ldc, last, accumulate);
        break;
    }
  }
}

// C (m, n) (+)= A (m, depth) B (depth, n); B and C row-major with leading dims ldb, ldc.
void gemm(int64_t m, int64_t n, int64_t depth, MatA a, const float* b, int64_t ldb, float* c, int64_t ldc,
          bool accumulate) {
  int64_t i = 0;
  for (; i + 6 <= m; i += 6)
    gemm_rows<6>(n, depth, {a.data + i * a.row_stride, a.row_stride, a.col_stride}, b, ldb, c + i * ldc, ldc,
                 accumulate);
  const MatA rest{a.data + i * a.row_stride, a.row_stride, a.col_stride};
  switch (m - i) {
    case 5:
      gemm_rows<5>(n, depth, rest, b, ldb, c + i * ldc, ldc, accumulate);
      break;
    case 4:
      gemm_rows<4>(n, depth, rest, b, ldb, c + i * ldc, ldc, accumulate);
      break;
    case 3:
      gemm_rows<3>(n, depth, rest, b, ldb, c + i * ldc, ldc, accumulate);
      break;
    case 2:
      gemm_rows<2>(n, depth, rest, b, ldb, c + i * ldc, ldc, accumulate);
      break;
    case 1:
      gemm_rows<1>(n, depth, rest, b, ldb, c + i * ldc, ldc, accumulate);
      break;
    default:
      break;
  }
}

// exp(x) within 2 ulp (Cephes expf): x = n ln2 + r, a degree-6 polynomial for exp(r), then
// scaled by 2^n. Below -87.3 (and for -inf) the result is exactly 0; NaN stays NaN.
inline __m512 exp_ps(__m512 x) {
  const __m512 n = _mm512_maskz_roundscale_ps(kAll, _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_NLT_UQ);
  return _mm512_maskz_mov_ps(keep, _mm512_maskz_scalef_ps(kAll, p, n));
}

float row_max(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(kNegInf);
  for (int64_t j = 0; j < n; j += kLanes)
    m = _mm512_maskz_max_ps(kAll, m, _mm512_mask_loadu_ps(m, tail_mask(n - j), x + j));
  return hmax(m);
}

// x[j] = exp(x[j] - shift) for j < n; returns their sum.
float exp_shift(float* x, int64_t n, float shift) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += kLanes) {
    const __mmask16 mask = tail_mask(n - j);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + j), s));
    sum = _mm512_mask_add_ps(sum, mask, sum, e);
    _mm512_mask_storeu_ps(x + j, mask, e);
  }
  return hsum(sum);
}

float dot(const float* a, const float* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += kLanes) {
    const __mmask16 mask = tail_mask(n - j);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, b + j), acc);
  }
  return hsum(acc);
}

#else

void gemm(int64_t m, int64_t n, int64_t depth, MatA a, const float* b, int64_t ldb, float* c, int64_t ldc,
          bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (!accumulate) std::fill(ci, ci + n, 0.0f);
    for (int64_t p = 0; p < depth; ++p) {
      const float av = a.data[i * a.row_stride + p * a.col_stride];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

float row_max(const float* x, int64_t n) {
  float m = kNegInf;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

float exp_shift(float* x, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t j = 0; j < n; ++j) acc += a[j] * b[j];
  return acc;
}

#endif

// C (m, n) = A (m, depth) B (n, depth)^T with row-major A, B (leading dims lda, ldb). Few rows:
// one dot product per element; otherwise B^T goes to scratch (depth, n) and through gemm.
void product_abt(int64_t m, int64_t n, int64_t depth, const float* a, int64_t lda, const float* b, int64_t ldb,
                 float* c, int64_t ldc, float* scratch) {
  if (m < kDirectRows) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = dot(a + i * lda, b + j * ldb, depth);
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < depth; ++p) scratch[p * n + j] = b[j * ldb + p];
  gemm(m, n, depth, {a, lda, 1}, scratch, n, c, ldc, false);
}

int64_t tile_count(int64_t len) { return (len + kBlockK - 1) / kBlockK; }

// x (heads, len, width) -> tiles (heads, tile_count(len), width, kBlockK): every key tile
// transposed into a contiguous panel (columns past the end of the last tile are never read).
// Work-shared: call from every thread of a parallel region.
void transpose_tiles(const float* x, int64_t heads, int64_t len, int64_t width, float* tiles) {
  const int64_t count = tile_count(len);
#pragma omp for schedule(static)
  for (int64_t ht = 0; ht < heads * count; ++ht) {
    const int64_t h = ht / count, j0 = (ht % count) * kBlockK, bk = std::min(kBlockK, len - j0);
    const float* src = x + (h * len + j0) * width;
    float* dst = tiles + ht * width * kBlockK;
    for (int64_t j = 0; j < bk; ++j)
      for (int64_t p = 0; p < width; ++p) dst[p * kBlockK + j] = src[j * width + p];
  }
}

// The whole problem: inputs, and (when several query blocks share each key tile) the key and
// value tiles transposed once up front.
struct Problem {
  const AttentionDims& dims;
  const float *q, *k, *v;
  const uint8_t* key_mask;
  bool causal;
  float scale;
  const float* k_tiles = nullptr;  // (B * Hk, tiles, D, kBlockK) or null
  const float* v_tiles = nullptr;  // (B * Hk, tiles, Dv, kBlockK) or null
};

// One (batch, query head): its query rows and the rows of the kv head it reads.
struct Head {
  const float* q;        // (Tq, D)
  const float* k;        // (Tk, D)
  const float* v;        // (Tk, Dv)
  const float* k_tiles;  // (tiles, D, kBlockK) or null: k transposed per tile
  const float* v_tiles;  // (tiles, Dv, kBlockK) or null
  const uint8_t* mask;   // (Tk), or null
  int64_t tq, tk, d, dv;
  bool causal;
  float scale;

  // One past the last key that any of the query rows [0, end_row) may see.
  int64_t key_end(int64_t end_row) const { return causal ? std::clamp<int64_t>(end_row + tk - tq, 0, tk) : tk; }
};

Head head_of(const Problem& pr, int64_t b, int64_t h) {
  const AttentionDims& dims = pr.dims;
  const int64_t kv = b * dims.kv_heads + h / (dims.q_heads / dims.kv_heads);
  const int64_t tiles = tile_count(dims.kv_len);
  return {pr.q + (b * dims.q_heads + h) * dims.q_len * dims.head_dim,
          pr.k + kv * dims.kv_len * dims.head_dim,
          pr.v + kv * dims.kv_len * dims.value_dim,
          pr.k_tiles ? pr.k_tiles + kv * tiles * dims.head_dim * kBlockK : nullptr,
          pr.v_tiles ? pr.v_tiles + kv * tiles * dims.value_dim * kBlockK : nullptr,
          pr.key_mask ? pr.key_mask + b * dims.kv_len : nullptr,
          dims.q_len,
          dims.kv_len,
          dims.head_dim,
          dims.value_dim,
          pr.causal,
          pr.scale};
}

// Per-thread buffers for one query block.
struct Workspace {
  std::vector<float> qs;        // (kBlockQ, D) queries times scale
  std::vector<float> scratch;   // (max(D, Dv), kBlockK) a key or value tile transposed
  std::vector<float> s;         // (kBlockQ, kBlockK) scores, then probabilities
  std::vector<float> o;         // (kBlockQ, Dv) output accumulator
  std::vector<float> row_max;   // (kBlockQ) running max of the scores
  std::vector<double> row_sum;  // (kBlockQ) running sum of exp(score - row_max)
  std::vector<float> lse;       // (kBlockQ) logsumexp of each row's scores, -inf when it sees no key
  std::vector<float> ds;        // backward: (kBlockQ, kBlockK) dP, then dS
  std::vector<float> dq;        // backward: (kBlockQ, D) dQ accumulator
  std::vector<float> delta;     // backward: (kBlockQ) rowsum(dO * O)

  Workspace(const AttentionDims& dims, bool backward)
      : qs(static_cast<size_t>(kBlockQ * dims.head_dim)),
        scratch(static_cast<size_t>(std::max(dims.head_dim, dims.value_dim) * kBlockK)),
        s(static_cast<size_t>(kBlockQ * kBlockK)),
        o(static_cast<size_t>(kBlockQ * dims.value_dim)),
        row_max(kBlockQ),
        row_sum(kBlockQ),
        lse(kBlockQ),
        ds(backward ? static_cast<size_t>(kBlockQ * kBlockK) : 0),
        dq(backward ? static_cast<size_t>(kBlockQ * dims.head_dim) : 0),
        delta(backward ? kBlockQ : 0) {}
};

// out (bq, bk) with leading dim kBlockK = a (bq, width) times rows [j0, j0 + bk) of x (Tk, width)
// transposed, read from the pre-transposed tiles when there are any.
void times_rows_t(int64_t bq, int64_t bk, int64_t width, const float* a, const float* x, const float* x_tiles,
                  int64_t j0, float* out, Workspace& ws) {
  if (x_tiles)
    gemm(bq, bk, width, {a, width, 1}, x_tiles + (j0 / kBlockK) * width * kBlockK, kBlockK, out, kBlockK, false);
  else
    product_abt(bq, bk, width, a, width, x + j0 * width, width, out, kBlockK, ws.scratch.data());
}

// Scores of query rows [i0, i0 + bq) against keys [j0, j0 + bk) into ws.s, -inf where masked.
// Returns false (and leaves ws.s alone) when the key mask hides the whole tile.
bool tile_scores(const Head& hd, Workspace& ws, int64_t i0, int64_t bq, int64_t j0, int64_t bk) {
  if (hd.mask && std::none_of(hd.mask + j0, hd.mask + j0 + bk, [](uint8_t m) { return m != 0; })) return false;
  float* s = ws.s.data();
  times_rows_t(bq, bk, hd.d, ws.qs.data(), hd.k, hd.k_tiles, j0, s, ws);
  if (hd.mask)
    for (int64_t j = 0; j < bk; ++j)
      if (!hd.mask[j0 + j])
        for (int64_t i = 0; i < bq; ++i) s[i * kBlockK + j] = kNegInf;
  if (hd.causal)
    for (int64_t i = 0; i < bq; ++i) {
      const int64_t first_hidden = std::max<int64_t>(i0 + i + hd.tk - hd.tq + 1 - j0, 0);
      for (int64_t j = first_hidden; j < bk; ++j) s[i * kBlockK + j] = kNegInf;
    }
  return true;
}

// Online softmax over the key tiles for query rows [i0, i0 + bq): leaves ws.qs, the normalised
// output rows in ws.o (zeros for a row that sees no key) and each row's logsumexp in ws.lse.
void forward_block(const Head& hd, Workspace& ws, int64_t i0, int64_t bq) {
  for (int64_t i = 0; i < bq * hd.d; ++i) ws.qs[static_cast<size_t>(i)] = hd.q[i0 * hd.d + i] * hd.scale;
  std::fill(ws.o.begin(), ws.o.begin() + bq * hd.dv, 0.0f);
  std::fill(ws.row_max.begin(), ws.row_max.end(), kNegInf);
  std::fill(ws.row_sum.begin(), ws.row_sum.end(), 0.0);
  const int64_t end = hd.key_end(i0 + bq);
  for (int64_t j0 = 0; j0 < end; j0 += kBlockK) {
    const int64_t bk = std::min(kBlockK, end - j0);
    if (!tile_scores(hd, ws, i0, bq, j0, bk)) continue;
    for (int64_t i = 0; i < bq; ++i) {
      float* si = ws.s.data() + i * kBlockK;
      const float running = ws.row_max[static_cast<size_t>(i)];
      const float m = std::max(running, row_max(si, bk));
      if (m == kNegInf) {
        std::fill(si, si + bk, 0.0f);
        continue;
      }
      const float alpha = std::exp(running - m);
      const float tile_sum = exp_shift(si, bk, m);
      ws.row_max[static_cast<size_t>(i)] = m;
      ws.row_sum[static_cast<size_t>(i)] = ws.row_sum[static_cast<size_t>(i)] * alpha + tile_sum;
      if (alpha != 1.0f)
        for (float* oi = ws.o.data() + i * hd.dv; oi != ws.o.data() + (i + 1) * hd.dv; ++oi) *oi *= alpha;
    }
    gemm(bq, hd.dv, bk, {ws.s.data(), kBlockK, 1}, hd.v + j0 * hd.dv, hd.dv, ws.o.data(), hd.dv, true);
  }
  for (int64_t i = 0; i < bq; ++i) {
    const double sum = ws.row_sum[static_cast<size_t>(i)];
    if (sum > 0.0) {
      const float inv = static_cast<float>(1.0 / sum);
      for (float* oi = ws.o.data() + i * hd.dv; oi != ws.o.data() + (i + 1) * hd.dv; ++oi) *oi *= inv;
      ws.lse[static_cast<size_t>(i)] = ws.row_max[static_cast<size_t>(i)] + static_cast<float>(std::log(sum));
    } else {
      ws.lse[static_cast<size_t>(i)] = kNegInf;
    }
  }
}

// Backward of query rows [i0, i0 + bq) of one head: writes their dq rows (Tq, D) and adds their
// share to dk_acc (Tk, D) and dv_acc (Tk, Dv) of the kv head.
void backward_block(const Head& hd, const float* dout, float* dq, float* dk_acc, float* dv_acc, Workspace& ws,
                    int64_t i0, int64_t bq) {
  forward_block(hd, ws, i0, bq);
  const float* dob = dout + i0 * hd.dv;  // (bq, Dv)
  for (int64_t i = 0; i < bq; ++i)
    ws.delta[static_cast<size_t>(i)] = dot(dob + i * hd.dv, ws.o.data() + i * hd.dv, hd.dv);
  std::fill(ws.dq.begin(), ws.dq.begin() + bq * hd.d, 0.0f);
  float* p = ws.s.data();
  float* ds = ws.ds.data();
  const int64_t end = hd.key_end(i0 + bq);
  for (int64_t j0 = 0; j0 < end; j0 += kBlockK) {
    const int64_t bk = std::min(kBlockK, end - j0);
    if (!tile_scores(hd, ws, i0, bq, j0, bk)) continue;
    for (int64_t i = 0; i < bq; ++i) {
      float* pi = p + i * kBlockK;
      const float lse = ws.lse[static_cast<size_t>(i)];
      if (lse == kNegInf)
        std::fill(pi, pi + bk, 0.0f);
      else
        exp_shift(pi, bk, lse);
    }
    // dV += P^T dO
    gemm(bk, hd.dv, bq, {p, 1, kBlockK}, dob, hd.dv, dv_acc + j0 * hd.dv, hd.dv, true);
    // dP = dO V^T, then dS = P * (dP - delta)
    times_rows_t(bq, bk, hd.dv, dob, hd.v, hd.v_tiles, j0, ds, ws);
    for (int64_t i = 0; i < bq; ++i) {
      const float delta = ws.delta[static_cast<size_t>(i)];
      float* dsi = ds + i * kBlockK;
      const float* pi = p + i * kBlockK;
      for (int64_t j = 0; j < bk; ++j) dsi[j] = pi[j] * (dsi[j] - delta);
    }
    // dQ += dS K (scaled at the end); dK += dS^T (Q * scale)
    gemm(bq, hd.d, bk, {ds, kBlockK, 1}, hd.k + j0 * hd.d, hd.d, ws.dq.data(), hd.d, true);
    gemm(bk, hd.d, bq, {ds, 1, kBlockK}, ws.qs.data(), hd.d, dk_acc + j0 * hd.d, hd.d, true);
  }
  for (int64_t i = 0; i < bq * hd.d; ++i) dq[i0 * hd.d + i] = ws.dq[static_cast<size_t>(i)] * hd.scale;
}

// How many chunks the query blocks of one kv head are split into, each with private dk/dv
// accumulators summed afterwards: 1 (write in place) when the kv heads alone keep every thread
// busy, else enough chunks for about four per thread.
int64_t chunk_count(int64_t groups, int64_t items_per_group, int64_t threads) {
  if (threads <= 1 || groups >= 4 * threads || groups % threads == 0) return 1;
  return std::clamp<int64_t>((4 * threads + groups - 1) / groups, 1, std::max<int64_t>(items_per_group, 1));
}

}  // namespace

void attention_forward_f32(const AttentionDims& dims, const float* q, const float* k, const float* v,
                           const uint8_t* key_mask, bool causal, float scale, float* out) {
  const int64_t blocks = (dims.q_len + kBlockQ - 1) / kBlockQ;
  const int64_t items = dims.batch * dims.q_heads * blocks;
  const int64_t kv_heads = dims.batch * dims.kv_heads;
  // Transposing each key tile once pays off when several query blocks (or heads) read it.
  const bool pretranspose = items > kv_heads;
  std::vector<float> k_tiles(
      pretranspose ? static_cast<size_t>(kv_heads * tile_count(dims.kv_len) * dims.head_dim * kBlockK) : 0);
  const Problem pr{dims, q, k, v, key_mask, causal, scale, pretranspose ? k_tiles.data() : nullptr};
#pragma omp parallel if (items > 1)
  {
    if (pretranspose) transpose_tiles(k, kv_heads, dims.kv_len, dims.head_dim, k_tiles.data());
    Workspace ws(dims, false);
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t bh = item / blocks, i0 = (item % blocks) * kBlockQ;
      const int64_t bq = std::min(kBlockQ, dims.q_len - i0);
      forward_block(head_of(pr, bh / dims.q_heads, bh % dims.q_heads), ws, i0, bq);
      std::copy(ws.o.begin(), ws.o.begin() + bq * dims.value_dim, out + (bh * dims.q_len + i0) * dims.value_dim);
    }
  }
}

void attention_backward_f32(const AttentionDims& dims, const float* q, const float* k, const float* v,
                            const uint8_t* key_mask, const float* dout, bool causal, float scale, float* dq, float* dk,
                            float* dv) {
  const int64_t group = dims.q_heads / dims.kv_heads;
  const int64_t blocks = (dims.q_len + kBlockQ - 1) / kBlockQ;
  const int64_t groups = dims.batch * dims.kv_heads;  // one per (batch, kv head)
  const int64_t items_per_group = group * blocks;
  const int64_t chunks = chunk_count(groups, items_per_group, omp_get_max_threads());
  const int64_t dk_size = dims.kv_len * dims.head_dim, dv_size = dims.kv_len * dims.value_dim;
  std::vector<float> partial(chunks > 1 ? static_cast<size_t>(groups * chunks * (dk_size + dv_size)) : 0);
  const bool pretranspose = items_per_group > 1;
  const int64_t tiles = tile_count(dims.kv_len);
  std::vector<float> k_tiles(pretranspose ? static_cast<size_t>(groups * tiles * dims.head_dim * kBlockK) : 0);
  std::vector<float> v_tiles(pretranspose ? static_cast<size_t>(groups * tiles * dims.value_dim * kBlockK) : 0);
  const Problem pr{dims,
                   q,
                   k,
                   v,
                   key_mask,
                   causal,
                   scale,
                   pretranspose ? k_tiles.data() : nullptr,
                   pretranspose ? v_tiles.data() : nullptr};
#pragma omp parallel if (groups * chunks > 1)
  {
    if (pretranspose) {
      transpose_tiles(k, groups, dims.kv_len, dims.head_dim, k_tiles.data());
      transpose_tiles(v, groups, dims.kv_len, dims.value_dim, v_tiles.data());
    }
    Workspace ws(dims, true);
#pragma omp for schedule(dynamic, 1)
    for (int64_t work = 0; work < groups * chunks; ++work) {
      const int64_t g = work / chunks, chunk = work % chunks;
      float* dk_acc = chunks > 1 ? partial.data() + work * (dk_size + dv_size) : dk + g * dk_size;
      float* dv_acc = chunks > 1 ? dk_acc + dk_size : dv + g * dv_size;
      std::fill(dk_acc, dk_acc + dk_size, 0.0f);
      std::fill(dv_acc, dv_acc + dv_size, 0.0f);
      const int64_t b = g / dims.kv_heads, hk = g % dims.kv_heads;
      // Round-robin over the group's (query head, query block) items balances causal work.
      for (int64_t t = chunk; t < items_per_group; t += chunks) {
        const int64_t h = hk * group + t / blocks, i0 = (t % blocks) * kBlockQ;
        const int64_t bh = b * dims.q_heads + h;
        backward_block(head_of(pr, b, h), dout + bh * dims.q_len * dims.value_dim, dq + bh * dims.q_len * dims.head_dim,
                       dk_acc, dv_acc, ws, i0, std::min(kBlockQ, dims.q_len - i0));
      }
    }
    if (chunks > 1) {
#pragma omp for schedule(static)
      for (int64_t row = 0; row < groups * dims.kv_len; ++row) {
        const int64_t g = row / dims.kv_len, j = row % dims.kv_len;
        const float* base = partial.data() + g * chunks * (dk_size + dv_size);
        float* dkr = dk + row * dims.head_dim;
        float* dvr = dv + row * dims.value_dim;
        std::fill(dkr, dkr + dims.head_dim, 0.0f);
        std::fill(dvr, dvr + dims.value_dim, 0.0f);
        for (int64_t c = 0; c < chunks; ++c) {
          const float* part_k = base + c * (dk_size + dv_size) + j * dims.head_dim;
          const float* part_v = base + c * (dk_size + dv_size) + dk_size + j * dims.value_dim;
          for (int64_t d = 0; d < dims.head_dim; ++d) dkr[d] += part_k[d];
          for (int64_t d = 0; d < dims.value_dim; ++d) dvr[d] += part_v[d];
        }
      }
    }
  }
}

}  // namespace hanvit::cpu
