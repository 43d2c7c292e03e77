// CPU adapters for the patches family: unfold_patches and fold_patches.
#include "kernels/cpu/patches.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {

void register_cpu_patches(CpuKernelTable& table) {
  // x (B, C, H, W) -> (B, N, C*P*P)
  table.set(OpKind::unfold_patches, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const Shape& x = in[0].shape();
    cpu::unfold_patches_f32(in[0].data<float>(), out.data<float>(), x[0], x[1], x[2], x[3],
                            std::get<PatchAttrs>(node.attrs).patch);
  });
  // patches (B, N, C*P*P) -> (B, C, H, W)
  table.set(OpKind::fold_patches, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const Shape& x = node.shape;
    cpu::fold_patches_f32(in[0].data<float>(), out.data<float>(), x[0], x[1], x[2], x[3],
                          std::get<PatchAttrs>(node.attrs).patch);
  });
}

}  // namespace hanvit
