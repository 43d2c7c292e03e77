// CUDA adapters for the patches family: unfold_patches and fold_patches.
#include "kernels/cuda/patches.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {

void register_cuda_patches(CudaKernelTable& table) {
  // x (B, C, H, W) -> (B, N, C*P*P)
  table.set(
      OpKind::unfold_patches,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        if (out.numel() == 0) return;
        const Shape& x = in[0].shape();
        cuda::unfold_patches(node.dtype, in[0].raw_data(), out.raw_data(), x[0], x[1], x[2], x[3],
                             std::get<PatchAttrs>(node.attrs).patch, ctx.stream);
      },
      kFloatDTypes);
  // patches (B, N, C*P*P) -> (B, C, H, W)
  table.set(
      OpKind::fold_patches,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        if (out.numel() == 0) return;
        const Shape& x = node.shape;
        cuda::fold_patches(node.dtype, in[0].raw_data(), out.raw_data(), x[0], x[1], x[2], x[3],
                           std::get<PatchAttrs>(node.attrs).patch, ctx.stream);
      },
      kFloatDTypes);
}

}  // namespace hanvit
