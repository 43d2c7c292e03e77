// CUDA adapters for the attention family: unpack (B, H, T, D) shapes, the optional key mask and the packed
// backward output, and launch the fused kernels of kernels/cuda/attention.h.
#include "kernels/cuda/attention.h"

#include <cstddef>

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

cuda::AttentionShape shape_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return {q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), v.dim(3)};
}

// attention(q, k, v[, key_mask]) -> (B, Hq, Tq, Dv)
void attention(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const auto& attrs = std::get<AttentionAttrs>(node.attrs);
  const auto* mask = in.size() == 4 ? static_cast<const uint8_t*>(in[3].raw_data()) : nullptr;
  cuda::attention_forward(node.dtype, shape_of(in[0], in[1], in[2]), in[0].raw_data(), in[1].raw_data(),
                          in[2].raw_data(), mask, attrs.causal, static_cast<float>(attrs.scale), out.raw_data(),
                          ctx.stream);
}

// attention_backward(q, k, v[, key_mask], dout) -> packed (dq, dk, dv)
void attention_backward(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const auto& attrs = std::get<AttentionAttrs>(node.attrs);
  const auto* mask = in.size() == 5 ? static_cast<const uint8_t*>(in[3].raw_data()) : nullptr;
  const cuda::AttentionShape shape = shape_of(in[0], in[1], in[2]);
  const size_t element = dtype_size(node.dtype);
  auto* dq = static_cast<std::byte*>(out.raw_data());
  std::byte* dk = dq + static_cast<size_t>(in[0].numel()) * element;
  std::byte* dv = dk + static_cast<size_t>(in[1].numel()) * element;
  const size_t scratch_bytes = cuda::attention_backward_scratch_bytes(shape);
  void* scratch = scratch_bytes > 0 ? ctx.scratch(scratch_bytes) : nullptr;
  cuda::attention_backward(node.dtype, shape, in[0].raw_data(), in[1].raw_data(), in[2].raw_data(), mask,
                           in.back().raw_data(), attrs.causal, static_cast<float>(attrs.scale), dq, dk, dv, scratch,
                           ctx.stream);
}

}  // namespace

void register_cuda_attention(CudaKernelTable& table) {
  table.set(OpKind::attention, attention);
  table.set(OpKind::attention_backward, attention_backward);
}

}  // namespace hanvit
