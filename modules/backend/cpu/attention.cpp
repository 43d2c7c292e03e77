// CPU adapters for the attention family: unpack (B, H, T, D) shapes and the optional key mask.
#include "kernels/cpu/attention.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {
namespace {

cpu::AttentionDims dims_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return {q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), v.dim(3)};
}

// attention(q, k, v[, key_mask]) -> (B, Hq, Tq, Dv)
void attention(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const auto& attrs = std::get<AttentionAttrs>(node.attrs);
  const uint8_t* mask = in.size() == 4 ? in[3].data<uint8_t>() : nullptr;
  cpu::attention_forward_f32(dims_of(in[0], in[1], in[2]), in[0].data<float>(), in[1].data<float>(),
                             in[2].data<float>(), mask, attrs.causal, static_cast<float>(attrs.scale),
                             out.data<float>());
}

// attention_backward(q, k, v[, key_mask], dout) -> packed (dq, dk, dv)
void attention_backward(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const auto& attrs = std::get<AttentionAttrs>(node.attrs);
  const uint8_t* mask = in.size() == 5 ? in[3].data<uint8_t>() : nullptr;
  float* dq = out.data<float>();
  float* dk = dq + in[0].numel();
  float* dv = dk + in[1].numel();
  cpu::attention_backward_f32(dims_of(in[0], in[1], in[2]), in[0].data<float>(), in[1].data<float>(),
                              in[2].data<float>(), mask, in.back().data<float>(), attrs.causal,
                              static_cast<float>(attrs.scale), dq, dk, dv);
}

}  // namespace

void register_cpu_attention(CpuKernelTable& table) {
  table.set(OpKind::attention, attention);
  table.set(OpKind::attention_backward, attention_backward);
}

}  // namespace hanvit
