// CUDA adapter for matmul: batch, transpose and leading dimensions for the cuBLASLt GEMM.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {

void register_cuda_matmul(CudaKernelTable& table) {
  // a (..., M, K) [(..., K, M) if trans_a], b (..., K, N) [(..., N, K) if trans_b] or 2-D -> (..., M, N)
  table.set(
      OpKind::matmul,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const auto& attrs = std::get<MatmulAttrs>(node.attrs);
        const Tensor &a = in[0], &b = in[1];
        const int64_t m = node.shape[node.shape.size() - 2], n = node.shape.back();
        const int64_t k = attrs.trans_a ? a.dim(-2) : a.dim(-1);
        if (out.numel() == 0) return;
        if (k == 0) {
          HANVIT_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), ctx.stream));
          return;
        }
        // A 2-D b under a batched a is shared by every batch (gemm folds the batch into M when a is not
        // transposed).
        const bool shared = b.rank() == 2 && a.rank() > 2;
        cuda::GemmArgs args;
        args.dtype = node.dtype;
        args.trans_a = attrs.trans_a;
        args.trans_b = attrs.trans_b;
        args.m = m;
        args.n = n;
        args.k = k;
        args.a = a.raw_data();
        args.lda = attrs.trans_a ? m : k;
        args.b = b.raw_data();
        args.ldb = attrs.trans_b ? k : n;
        args.c = out.raw_data();
        args.ldc = n;
        args.batch = numel(Shape(node.shape.begin(), node.shape.end() - 2));
        args.stride_a = m * k;
        args.stride_b = shared ? 0 : k * n;
        args.stride_c = m * n;
        args.allow_tf32 = ctx.allow_tf32;
        cuda::gemm(ctx.cublaslt, args, ctx.workspace, CudaContext::kWorkspaceBytes, ctx.stream);
      },
      kFloatDTypes);
}

}  // namespace hanvit
