// defines: GemmArgs, GemmEpilogue, gemm — row-major batched GEMM on cuBLASLt, f32 accumulation, fused bias/GELU.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

enum class GemmEpilogue {
  none,
  bias,       // + bias (N) on every row
  bias_gelu,  // GELU (tanh approximation, cuBLASLt's) of the result + bias
};

// For every b < batch: C_b (M, N) = epilogue(alpha * op(A_b) (M, K) op(B_b) (K, N) + beta * C_b), all row-major,
// with A_b = a + b * stride_a, B_b = b + b * stride_b, C_b = c + b * stride_c (element strides).
// A is stored (M, K) with row stride lda >= K, or (K, M) with lda >= M when trans_a; B is stored (K, N) with
// ldb >= N, or (N, K) with ldb >= K when trans_b; C has row stride ldc >= N. stride_a or stride_b may be 0 to share
// one operand across the batch; stride_c >= M * ldc when batch > 1. A, B, C and the bias have `dtype` (f32, bf16 or
// f16); products accumulate in f32 (f32 operands use TF32 tensor cores only with allow_tf32).
struct GemmArgs {
  DType dtype = DType::f32;
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* c = nullptr;
  int64_t ldc = 0;
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  float alpha = 1.0f;
  float beta = 0.0f;  // 0: C is only written (NaN in C does not propagate)
  GemmEpilogue epilogue = GemmEpilogue::none;
  const void* bias = nullptr;  // (N), with bias and bias_gelu
  bool allow_tf32 = false;
};

// Enqueues the product on `stream`. The matmul descriptor, layouts and heuristic algorithm are cached per handle,
// shape, strides, pointer alignment, dtype, epilogue and TF32 flag, so a repeated shape makes no heuristic query.
// A shared B (stride_b 0) with an untransposed, densely batched A runs as one (batch * M, K) x (K, N) product.
// M, N or batch 0: nothing to do; K 0 with beta 0 and no epilogue: C is zero-filled (other K 0 cases throw
// std::invalid_argument). Invalid sizes, strides or null pointers throw std::invalid_argument; a cuBLASLt failure
// throws std::runtime_error naming the call and the shape. `workspace` (workspace_bytes) is device memory that only
// work on `stream` uses.
void gemm(cublasLtHandle_t handle, const GemmArgs& args, void* workspace, size_t workspace_bytes, cudaStream_t stream);

}  // namespace hanvit::cuda
