// CPU adapter for matmul: batch, transpose and leading dimensions for the GEMM kernels.
#include "kernels/cpu/gemm.h"
#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {

void register_cpu_matmul(CpuKernelTable& table) {
  // a (..., M, K) [(..., K, M) if trans_a], b (..., K, N) [(..., N, K) if trans_b] or 2-D -> (..., M, N)
  table.set(OpKind::matmul, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const auto& attrs = std::get<MatmulAttrs>(node.attrs);
    const Tensor &a = in[0], &b = in[1];
    const int64_t m = node.shape[node.shape.size() - 2], n = node.shape.back();
    const int64_t k = attrs.trans_a ? a.dim(-2) : a.dim(-1);
    const int64_t batch = numel(Shape(node.shape.begin(), node.shape.end() - 2));
    if (out.numel() == 0) return;
    if (k == 0) {
      out.fill(0.0);
      return;
    }
    const int64_t lda = attrs.trans_a ? m : k, ldb = attrs.trans_b ? k : n;
    const bool shared = b.rank() == 2 && a.rank() > 2;
    if (shared && !attrs.trans_a) {  // the batches' rows stacked: one (batch*M, K) x (K, N) product
      cpu::gemm_f32(false, attrs.trans_b, batch * m, n, k, 1.0f, a.data<float>(), lda, b.data<float>(), ldb, 0.0f,
                    out.data<float>(), n);
      return;
    }
    cpu::gemm_batched_f32(attrs.trans_a, attrs.trans_b, m, n, k, 1.0f, a.data<float>(), lda, b.data<float>(), ldb, 0.0f,
                          out.data<float>(), n, batch, m * k, shared ? 0 : k * n, m * n);
  });
}

}  // namespace hanvit
