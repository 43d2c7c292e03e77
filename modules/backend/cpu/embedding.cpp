// CPU adapters for the embedding family: embedding, embedding_backward and rope.
#include "kernels/cpu/embedding.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {

void register_cpu_embedding(CpuKernelTable& table) {
  // weight (V, D), ids (...) -> (..., D)
  table.set(OpKind::embedding, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    cpu::embedding_f32(in[0].data<float>(), in[0].dim(0), in[0].dim(1), in[1].data<int32_t>(), in[1].numel(),
                       out.data<float>());
  });
  // ids (...), dy (..., D) -> (V, D)
  table.set(OpKind::embedding_backward, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    cpu::embedding_backward_f32(in[0].data<int32_t>(), in[0].numel(), in[1].data<float>(), node.shape[0], node.shape[1],
                                out.data<float>());
  });
  // x (B, H, T, D), positions (T)
  table.set(OpKind::rope, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const auto& attrs = std::get<RopeAttrs>(node.attrs);
    const Shape& s = node.shape;
    cpu::rope_f32(in[0].data<float>(), out.data<float>(), s[0], s[1], s[2], s[3], in[1].data<int32_t>(), attrs.theta,
                  attrs.position_scale, attrs.inverse);
  });
}

}  // namespace hanvit
