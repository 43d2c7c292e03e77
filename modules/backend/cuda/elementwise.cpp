// CUDA adapters for the elementwise family: shapes, dtypes and attributes off the node, then the kernels.
#include "kernels/cuda/elementwise.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

template <cuda::BinaryOp Op>
void binary(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cuda::binary(Op, node.dtype, node.shape, in[0].raw_data(), in[0].shape(), in[1].raw_data(), in[1].shape(),
               out.raw_data(), ctx.stream);
}

template <cuda::UnaryOp Op>
void unary(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  float scalar = 0.0f;
  if (const auto* attrs = std::get_if<ScalarAttrs>(&node.attrs)) scalar = static_cast<float>(attrs->value);
  cuda::unary(Op, node.dtype, in[0].raw_data(), out.raw_data(), out.numel(), scalar, ctx.stream);
}

// x, dy (n) -> dx (n)
template <cuda::ActivationGrad Op>
void activation_grad(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cuda::activation_grad(Op, node.dtype, in[0].raw_data(), in[1].raw_data(), out.raw_data(), out.numel(), ctx.stream);
}

// cond u8, a, b -> out, all broadcast to node.shape
void where(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cuda::where(node.dtype, node.shape, in[0].data<uint8_t>(), in[0].shape(), in[1].raw_data(), in[1].shape(),
              in[2].raw_data(), in[2].shape(), out.raw_data(), ctx.stream);
}

// x, mask u8 (broadcast to x) -> out
void masked_fill(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const float value = static_cast<float>(std::get<ScalarAttrs>(node.attrs).value);
  cuda::masked_fill(node.dtype, node.shape, in[0].raw_data(), in[1].data<uint8_t>(), in[1].shape(), value,
                    out.raw_data(), ctx.stream);
}

void dropout(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const auto& attrs = std::get<DropoutAttrs>(node.attrs);
  cuda::dropout(node.dtype, in[0].raw_data(), out.raw_data(), out.numel(), static_cast<float>(attrs.p), attrs.seed,
                ctx.stream);
}

}  // namespace

void register_cuda_elementwise(CudaKernelTable& table) {
  table.set(
      OpKind::full,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor>, const Tensor& out) {
        if (out.numel() == 0) return;
        cuda::fill(node.dtype, out.raw_data(), out.numel(), std::get<ScalarAttrs>(node.attrs).value, ctx.stream);
      },
      kAllDTypes);
  table.set(OpKind::add, binary<cuda::BinaryOp::add>, kFloatDTypes);
  table.set(OpKind::sub, binary<cuda::BinaryOp::sub>, kFloatDTypes);
  table.set(OpKind::mul, binary<cuda::BinaryOp::mul>, kFloatDTypes);
  table.set(OpKind::div, binary<cuda::BinaryOp::div>, kFloatDTypes);
  table.set(OpKind::add_scalar, unary<cuda::UnaryOp::add_scalar>, kFloatDTypes);
  table.set(OpKind::mul_scalar, unary<cuda::UnaryOp::mul_scalar>, kFloatDTypes);
  table.set(OpKind::pow_scalar, unary<cuda::UnaryOp::pow_scalar>, kFloatDTypes);
  table.set(OpKind::neg, unary<cuda::UnaryOp::neg>, kFloatDTypes);
  table.set(OpKind::exp, unary<cuda::UnaryOp::exp>, kFloatDTypes);
  table.set(OpKind::log, unary<cuda::UnaryOp::log>, kFloatDTypes);
  table.set(OpKind::sqrt, unary<cuda::UnaryOp::sqrt>, kFloatDTypes);
  table.set(OpKind::rsqrt, unary<cuda::UnaryOp::rsqrt>, kFloatDTypes);
  table.set(OpKind::tanh, unary<cuda::UnaryOp::tanh>, kFloatDTypes);
  table.set(OpKind::gelu_tanh, unary<cuda::UnaryOp::gelu_tanh>, kFloatDTypes);
  table.set(OpKind::gelu_erf, unary<cuda::UnaryOp::gelu_erf>, kFloatDTypes);
  table.set(OpKind::silu, unary<cuda::UnaryOp::silu>, kFloatDTypes);
  table.set(
      OpKind::swiglu,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        if (out.numel() == 0) return;
        cuda::swiglu(node.dtype, in[0].raw_data(), in[1].raw_data(), out.raw_data(), out.numel(), ctx.stream);
      },
      kFloatDTypes);
  table.set(OpKind::gelu_tanh_backward, activation_grad<cuda::ActivationGrad::gelu_tanh>, kFloatDTypes);
  table.set(OpKind::gelu_erf_backward, activation_grad<cuda::ActivationGrad::gelu_erf>, kFloatDTypes);
  table.set(OpKind::silu_backward, activation_grad<cuda::ActivationGrad::silu>, kFloatDTypes);
  table.set(OpKind::where, where, kFloatDTypes);
  table.set(OpKind::masked_fill, masked_fill, kFloatDTypes);
  table.set(OpKind::dropout, dropout, kFloatDTypes);
  table.set(
      OpKind::cast,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        if (out.numel() == 0) return;
        cuda::cast(in[0].dtype(), in[0].raw_data(), node.dtype, out.raw_data(), out.numel(), ctx.stream);
      },
      kAllDTypes);
}

}  // namespace hanvit
