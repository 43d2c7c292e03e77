// defines: gemm_f32, gemm_batched_f32 — row-major f32 GEMM (packed AVX-512 micro-kernel, Eigen elsewhere), OpenMP.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, all row-major.
// A is stored (M, K) with row stride lda >= K, or (K, M) with lda >= M when trans_a; B is stored (K, N) with
// ldb >= N, or (N, K) with ldb >= K when trans_b; C has row stride ldc >= N. With beta == 0, C is only written
// (NaN or garbage in C does not propagate); with alpha == 0 or K == 0, A and B are not read. Threads: OpenMP.
// Throws std::invalid_argument for negative sizes, too small strides or null pointers of non-empty matrices.
void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The same product over `batch` matrices: A + b * stride_a, B + b * stride_b, C + b * stride_c (element strides).
// stride_a or stride_b may be 0 to share one operand across the batch; stride_c must be positive when batch > 1.
void gemm_batched_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t batch,
                      int64_t stride_a, int64_t stride_b, int64_t stride_c);

}  // namespace hanvit::cpu
