// Tests of the CPU f32 GEMM kernels against a float64 triple loop: sizes, transposes, strides, alpha/beta, batches.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/gemm.h"

using hanvit::cpu::gemm_batched_f32;
using hanvit::cpu::gemm_f32;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kGuard = -12345.0f;  // fills the row padding of C: must never be written

// One product's description; the pads widen each stored row beyond the matrix (odd strides).
struct Problem {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f, beta = 0.0f;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;

  int64_t lda() const { return (trans_a ? M : K) + pad_a; }
  int64_t ldb() const { return (trans_b ? K : N) + pad_b; }
  int64_t ldc() const { return N + pad_c; }
  int64_t a_size() const { return (trans_a ? K : M) * lda(); }
  int64_t b_size() const { return (trans_b ? N : K) * ldb(); }
  int64_t c_size() const { return M * ldc(); }
  float a(const std::vector<float>& A, int64_t i, int64_t k) const {
    return trans_a ? A[k * lda() + i] : A[i * lda() + k];
  }
  float b(const std::vector<float>& B, int64_t k, int64_t j) const {
    return trans_b ? B[j * ldb() + k] : B[k * ldb() + j];
  }
};

std::vector<float> random_vector(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// C (M, N) initial contents: random for beta != 0, NaN for beta == 0; the row padding holds kGuard.
std::vector<float> initial_c(const Problem& p, std::mt19937& rng) {
  std::vector<float> C = random_vector(p.c_size(), rng);
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.ldc(); ++j)
      if (j >= p.N)
        C[i * p.ldc() + j] = kGuard;
      else if (p.beta == 0.0f)
        C[i * p.ldc() + j] = kNaN;
  return C;
}

// Compares rows `row0, row0 + row_step, ...` of C against the float64 product; the bound is 2 K eps times
// the magnitude sum |alpha| sum_k |a b| + |beta c|, which holds for any summation order.
void check_c(const Problem& p, const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C0,
             const std::vector<float>& C, int64_t row_step = 1) {
  const double eps = std::numeric_limits<float>::epsilon();
  int64_t failures = 0;
  for (int64_t i = 0; i < p.M; i += row_step) {
    for (int64_t j = 0; j < p.ldc(); ++j) {
      const float got = C[i * p.ldc() + j];
      if (j >= p.N) {
        if (got != kGuard) ++failures;
        continue;
      }
      double sum = 0.0, mag = 0.0;
      for (int64_t k = 0; k < p.K; ++k) {
        const double prod = static_cast<double>(p.a(A, i, k)) * p.b(B, k, j);
        sum += prod;
        mag += std::fabs(prod);
      }
      double ref = static_cast<double>(p.alpha) * sum;
      mag = std::fabs(p.alpha) * mag;
      if (p.beta != 0.0f) {
        ref += static_cast<double>(p.beta) * C0[i * p.ldc() + j];
        mag += std::fabs(p.beta * C0[i * p.ldc() + j]);
      }
      const double tol = 2.0 * static_cast<double>(p.K + 2) * eps * mag + 1e-30;
      if (!(std::fabs(got - ref) <= tol)) {
        if (failures < 5)
          UNSCOPED_INFO("C(" << i << "," << j << ") = " << got << ", expected " << ref << " (tol " << tol << ")");
        ++failures;
      }
    }
  }
  INFO("trans_a=" << p.trans_a << " trans_b=" << p.trans_b << " M=" << p.M << " N=" << p.N << " K=" << p.K << " alpha="
                  << p.alpha << " beta=" << p.beta << " lda=" << p.lda() << " ldb=" << p.ldb() << " ldc=" << p.ldc());
  REQUIRE(failures == 0);
}

void run_and_check(const Problem& p, std::mt19937& rng, int64_t row_step = 1) {
  const std::vector<float> A = random_vector(p.a_size(), rng), B = random_vector(p.b_size(), rng);
  const std::vector<float> C0 = initial_c(p, rng);
  std::vector<float> C = C0;
  gemm_f32(p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, A.data(), p.lda(), B.data(), p.ldb(), p.beta, C.data(),
           p.ldc());
  check_c(p, A, B, C0, C, row_step);
}

}  // namespace

TEST_CASE("gemm matches float64 for edge and odd sizes, every transpose") {
  std::mt19937 rng(1);
  const int64_t sizes[] = {0, 1, 3, 17, 130};
  for (int t = 0; t < 4; ++t)
    for (int64_t M : sizes)
      for (int64_t N : sizes)
        for (int64_t K : sizes) {
          Problem p;
          p.trans_a = t & 1;
          p.trans_b = t & 2;
          p.M = M, p.N = N, p.K = K;
          p.beta = (M + N + K) % 2 == 0 ? 0.0f : 1.0f;
          run_and_check(p, rng);
        }
}

TEST_CASE("gemm random sizes with strides wider than the rows and random alpha, beta") {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int64_t> size(1, 150), pad(0, 9);
  const float betas[] = {0.0f, 1.0f, -0.75f, 2.5f};
  for (int iter = 0; iter < 48; ++iter) {
    Problem p;
    p.trans_a = iter & 1;
    p.trans_b = iter & 2;
    p.M = size(rng), p.N = size(rng), p.K = size(rng);
    p.alpha = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
    p.beta = betas[iter % 4];
    p.pad_a = pad(rng), p.pad_b = pad(rng), p.pad_c = pad(rng);
    run_and_check(p, rng);
  }
}

TEST_CASE("gemm few-row products (GEMV-like) for every transpose and column tail") {
  std::mt19937 rng(7);
  for (int t = 0; t < 4; ++t)
    for (int64_t M = 1; M <= 5; ++M)
      for (int64_t N : {1, 63, 64, 65, 300})
        for (int64_t K : {1, 17, 900}) {
          Problem p;
          p.trans_a = t & 1;
          p.trans_b = t & 2;
          p.M = M, p.N = N, p.K = K;
          p.alpha = -0.5f, p.beta = (N + M) % 3 == 0 ? 0.0f : 1.5f;
          p.pad_a = M % 2, p.pad_b = 3, p.pad_c = 2;
          run_and_check(p, rng);
        }
}

TEST_CASE("gemm sizes beyond the cache blocks, few and many rows, one and all threads") {
  std::mt19937 rng(3);
  const int saved = omp_get_max_threads();
  for (int threads : {saved, 1}) {
    omp_set_num_threads(threads);
    for (int t = 0; t < 4; ++t) {
      Problem p;
      p.trans_a = t & 1;
      p.trans_b = t & 2;
      p.M = t < 2 ? 530 : 5, p.N = 4133, p.K = 600;
      p.alpha = 0.5f, p.beta = t % 2 == 0 ? 0.0f : -1.0f;
      p.pad_a = 3, p.pad_b = 5, p.pad_c = 1;
      run_and_check(p, rng, 37);
    }
  }
  omp_set_num_threads(saved);
}

TEST_CASE("gemm beta 0 overwrites NaN in C, beta 1 accumulates") {
  std::mt19937 rng(4);
  Problem p;
  p.M = 45, p.N = 70, p.K = 33, p.pad_c = 3;
  run_and_check(p, rng);
  p.beta = 1.0f;
  run_and_check(p, rng);
}

TEST_CASE("gemm alpha 0 and K 0 scale C without reading A and B") {
  const int64_t M = 5, N = 7, ldc = 9;
  std::vector<float> C(M * ldc, 2.0f);
  const std::vector<float> nan_a(M * 4, kNaN), nan_b(4 * N, kNaN);
  gemm_f32(false, false, M, N, 4, 0.0f, nan_a.data(), 4, nan_b.data(), N, 0.5f, C.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j) REQUIRE(C[i * ldc + j] == (j < N ? 1.0f : 2.0f));
  gemm_f32(false, false, M, N, 0, 1.0f, nullptr, 0, nullptr, N, 3.0f, C.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j) REQUIRE(C[i * ldc + j] == (j < N ? 3.0f : 2.0f));
  std::fill(C.begin(), C.end(), kNaN);
  gemm_f32(false, false, M, N, 0, 1.0f, nullptr, 0, nullptr, N, 0.0f, C.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) REQUIRE(C[i * ldc + j] == 0.0f);
  gemm_batched_f32(false, false, M, N, 0, 1.0f, nullptr, 0, nullptr, N, 0.0f, C.data(), ldc, 1, 0, 0, 0);
  REQUIRE(C[0] == 0.0f);
}

TEST_CASE("gemm on 1 and 3 threads and from inside a parallel region") {
  std::mt19937 rng(5);
  Problem p;
  p.M = 200, p.N = 190, p.K = 170, p.beta = 1.0f, p.pad_b = 1;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    run_and_check(p, rng);
    Problem few_rows = p;  // too few row tiles to split rows: columns are split instead
    few_rows.M = 20;
    run_and_check(few_rows, rng);
  }
  omp_set_num_threads(saved);

  const std::vector<float> A = random_vector(p.a_size(), rng), B = random_vector(p.b_size(), rng);
  std::vector<std::vector<float>> C0(4), C(4);
  for (int i = 0; i < 4; ++i) C[i] = C0[i] = initial_c(p, rng);
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 4; ++i)
    gemm_f32(false, false, p.M, p.N, p.K, p.alpha, A.data(), p.lda(), B.data(), p.ldb(), p.beta, C[i].data(), p.ldc());
  for (int i = 0; i < 4; ++i) check_c(p, A, B, C0[i], C[i]);
}

TEST_CASE("gemm batched with shared and strided operands") {
  std::mt19937 rng(6);
  // (batch, M, N, K, share_a, share_b): small matrices run one per thread, a batch of 3 large ones splits each.
  struct Case {
    int64_t batch, M, N, K;
    bool share_a, share_b;
  };
  const Case cases[] = {{5, 17, 33, 9, false, true},   {4, 3, 130, 17, true, false},   {3, 96, 100, 80, false, true},
                        {3, 65, 70, 90, false, false}, {1, 14, 32, 256, false, false}, {8, 1, 1, 1, false, false}};
  for (const Case& cs : cases) {
    for (int t = 0; t < 4; ++t) {
      Problem p;
      p.trans_a = t & 1;
      p.trans_b = t & 2;
      p.M = cs.M, p.N = cs.N, p.K = cs.K;
      p.alpha = 1.5f, p.beta = t < 2 ? 0.0f : 0.25f;
      p.pad_a = 2, p.pad_b = 1, p.pad_c = 3;
      // Per-batch strides leave a gap after each matrix.
      const int64_t stride_a = cs.share_a ? 0 : p.a_size() + 7, stride_b = cs.share_b ? 0 : p.b_size() + 5;
      const int64_t stride_c = p.c_size() + 11;
      const std::vector<float> A = random_vector(cs.share_a ? p.a_size() : stride_a * cs.batch, rng);
      const std::vector<float> B = random_vector(cs.share_b ? p.b_size() : stride_b * cs.batch, rng);
      std::vector<float> C0(static_cast<size_t>(stride_c * cs.batch), kGuard);
      for (int64_t i = 0; i < cs.batch; ++i) {
        const std::vector<float> ci = initial_c(p, rng);
        std::copy(ci.begin(), ci.end(), C0.begin() + i * stride_c);
      }
      std::vector<float> C = C0;
      gemm_batched_f32(p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, A.data(), p.lda(), B.data(), p.ldb(), p.beta,
                       C.data(), p.ldc(), cs.batch, stride_a, stride_b, stride_c);
      for (int64_t i = 0; i < cs.batch; ++i) {
        const auto slice = [](const std::vector<float>& v, int64_t start, int64_t n) {
          return std::vector<float>(v.begin() + start, v.begin() + start + n);
        };
        check_c(p, slice(A, i * stride_a, p.a_size()), slice(B, i * stride_b, p.b_size()),
                slice(C0, i * stride_c, p.c_size()), slice(C, i * stride_c, p.c_size()));
        for (int64_t g = i * stride_c + p.c_size(); g < (i + 1) * stride_c; ++g) REQUIRE(C[g] == kGuard);
      }
    }
  }
}

TEST_CASE("gemm rejects negative sizes, short strides and null operands") {
  std::vector<float> buf(64, 0.0f);
  const float* a = buf.data();
  float* c = buf.data();
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(gemm_f32(false, false, -1, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2),
                      Contains("gemm_f32") && Contains("negative size M=-1"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 2, 2, -3, 1.0f, a, 2, a, 2, 0.0f, c, 2), Contains("K=-3"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 4, 3, 5, 1.0f, a, 4, a, 3, 0.0f, c, 3),
                      Contains("lda=4") && Contains("A (4,5)"));
  REQUIRE_THROWS_WITH(gemm_f32(true, false, 4, 3, 5, 1.0f, a, 3, a, 3, 0.0f, c, 3),
                      Contains("lda=3") && Contains("A (5,4)"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 4, 3, 5, 1.0f, a, 5, a, 2, 0.0f, c, 3),
                      Contains("ldb=2") && Contains("B (5,3)"));
  REQUIRE_THROWS_WITH(gemm_f32(false, true, 4, 3, 5, 1.0f, a, 5, a, 4, 0.0f, c, 3),
                      Contains("ldb=4") && Contains("B (3,5)"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 4, 3, 5, 1.0f, a, 5, a, 3, 0.0f, c, 2),
                      Contains("ldc=2") && Contains("C (4,3)"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 0, 0, 0, 1.0f, nullptr, -1, nullptr, 0, 0.0f, nullptr, 0),
                      Contains("lda=-1"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 2, 2, 2, 1.0f, nullptr, 2, a, 2, 0.0f, c, 2), Contains("A (2,2) is null"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 2, 2, 2, 1.0f, a, 2, nullptr, 2, 0.0f, c, 2), Contains("B (2,2) is null"));
  REQUIRE_THROWS_WITH(gemm_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, nullptr, 2),
                      Contains("C is null for C (2,2)"));
  REQUIRE_NOTHROW(gemm_f32(false, false, 0, 3, 2, 1.0f, nullptr, 2, nullptr, 3, 0.0f, nullptr, 3));

  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 1, a, 2, 0.0f, c, 2, 2, 4, 4, 4),
                      Contains("gemm_batched_f32") && Contains("lda=1"));
  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, -1, 4, 4, 4),
                      Contains("gemm_batched_f32: batch -1"));
  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, 2, -4, 4, 4),
                      Contains("strides A -4"));
  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, 2, 4, -4, 4),
                      Contains("B -4"));
  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, 2, 4, 4, -4),
                      Contains("C -4"));
  REQUIRE_THROWS_WITH(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, 2, 4, 4, 0),
                      Contains("C 0"));
  REQUIRE_NOTHROW(gemm_batched_f32(false, false, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2, 0, 4, 4, 4));
}
