// CUDA adapters for the embedding family: embedding, embedding_backward and rope.
#include "kernels/cuda/embedding.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {

void register_cuda_embedding(CudaKernelTable& table) {
  // weight (V, D), ids (...) -> (..., D); out-of-range ids give zero rows
  table.set(
      OpKind::embedding,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        cuda::embedding(node.dtype, in[0].raw_data(), in[0].dim(0), in[0].dim(1), in[1].data<int32_t>(), in[1].numel(),
                        out.raw_data(), ctx.stream);
      },
      kFloatDTypes);
  // ids (...), dy (..., D) -> (V, D)
  table.set(
      OpKind::embedding_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const int64_t n = in[0].numel(), vocab = node.shape[0], dim = node.shape[1];
        void* scratch = ctx.scratch(cuda::embedding_backward_scratch_bytes(n, vocab, dim));
        cuda::embedding_backward(node.dtype, in[0].data<int32_t>(), n, in[1].raw_data(), vocab, dim, out.raw_data(),
                                 scratch, ctx.stream);
      },
      kFloatDTypes);
  // x (B, H, T, D), positions (T)
  table.set(
      OpKind::rope,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const auto& attrs = std::get<RopeAttrs>(node.attrs);
        const Shape& s = node.shape;
        void* scratch = ctx.scratch(cuda::rope_scratch_bytes(s[2], s[3]));
        cuda::rope(node.dtype, in[0].raw_data(), out.raw_data(), s[0], s[1], s[2], s[3], in[1].data<int32_t>(),
                   attrs.theta, attrs.position_scale, attrs.inverse, scratch, ctx.stream);
      },
      kFloatDTypes);
}

}  // namespace hanvit
