// CPU adapters for the elementwise family: broadcasting strides, then the raw kernels.
#include "kernels/cpu/elementwise.h"
#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {
namespace {

// Element strides of `input` read as if broadcast to `out_shape` (0 on broadcast dims).
Shape broadcast_strides(const Shape& input, const Shape& out_shape) {
  Shape strides(out_shape.size(), 0);
  Shape own = contiguous_strides(input);
  size_t lead = out_shape.size() - input.size();
  for (size_t i = 0; i < input.size(); ++i)
    if (input[i] != 1) strides[lead + i] = own[i];
  return strides;
}

template <cpu::BinaryOp Op>
void binary(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  Shape as = broadcast_strides(in[0].shape(), node.shape), bs = broadcast_strides(in[1].shape(), node.shape);
  cpu::binary_f32(Op, node.shape, in[0].data<float>(), as.data(), in[1].data<float>(), bs.data(), out.data<float>());
}

template <cpu::UnaryOp Op>
void unary(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  float scalar = 0.0f;
  if (const auto* attrs = std::get_if<ScalarAttrs>(&node.attrs)) scalar = static_cast<float>(attrs->value);
  cpu::unary_f32(Op, in[0].data<float>(), out.data<float>(), out.numel(), scalar);
}

template <cpu::ActivationGrad Op>
void activation_grad(const Node&, std::span<const Tensor> in, const Tensor& out) {
  cpu::activation_grad_f32(Op, in[0].data<float>(), in[1].data<float>(), out.data<float>(), out.numel());
}

void where(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  Shape cs = broadcast_strides(in[0].shape(), node.shape), as = broadcast_strides(in[1].shape(), node.shape),
        bs = broadcast_strides(in[2].shape(), node.shape);
  cpu::where_f32(node.shape, in[0].data<uint8_t>(), cs.data(), in[1].data<float>(), as.data(), in[2].data<float>(),
                 bs.data(), out.data<float>());
}

void masked_fill(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const float value = static_cast<float>(std::get<ScalarAttrs>(node.attrs).value);
  Shape ms = broadcast_strides(in[1].shape(), node.shape), xs = contiguous_strides(node.shape);
  Shape zero(node.shape.size(), 0);
  cpu::where_f32(node.shape, in[1].data<uint8_t>(), ms.data(), &value, zero.data(), in[0].data<float>(), xs.data(),
                 out.data<float>());
}

void dropout(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const auto& attrs = std::get<DropoutAttrs>(node.attrs);
  cpu::dropout_f32(in[0].data<float>(), out.data<float>(), out.numel(), static_cast<float>(attrs.p), attrs.seed);
}

}  // namespace

void register_cpu_elementwise(CpuKernelTable& table) {
  table.set(OpKind::full, [](const Node& node, std::span<const Tensor>, const Tensor& out) {
    out.fill(std::get<ScalarAttrs>(node.attrs).value);
  });
  table.set(OpKind::add, binary<cpu::BinaryOp::add>);
  table.set(OpKind::sub, binary<cpu::BinaryOp::sub>);
  table.set(OpKind::mul, binary<cpu::BinaryOp::mul>);
  table.set(OpKind::div, binary<cpu::BinaryOp::div>);
  table.set(OpKind::add_scalar, unary<cpu::UnaryOp::add_scalar>);
  table.set(OpKind::mul_scalar, unary<cpu::UnaryOp::mul_scalar>);
  table.set(OpKind::pow_scalar, unary<cpu::UnaryOp::pow_scalar>);
  table.set(OpKind::neg, unary<cpu::UnaryOp::neg>);
  table.set(OpKind::exp, unary<cpu::UnaryOp::exp>);
  table.set(OpKind::log, unary<cpu::UnaryOp::log>);
  table.set(OpKind::sqrt, unary<cpu::UnaryOp::sqrt>);
  table.set(OpKind::rsqrt, unary<cpu::UnaryOp::rsqrt>);
  table.set(OpKind::tanh, unary<cpu::UnaryOp::tanh>);
  table.set(OpKind::gelu_tanh, unary<cpu::UnaryOp::gelu_tanh>);
  table.set(OpKind::gelu_erf, unary<cpu::UnaryOp::gelu_erf>);
  table.set(OpKind::silu, unary<cpu::UnaryOp::silu>);
  table.set(OpKind::swiglu, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    cpu::swiglu_f32(in[0].data<float>(), in[1].data<float>(), out.data<float>(), out.numel());
  });
  table.set(OpKind::gelu_tanh_backward, activation_grad<cpu::ActivationGrad::gelu_tanh>);
  table.set(OpKind::gelu_erf_backward, activation_grad<cpu::ActivationGrad::gelu_erf>);
  table.set(OpKind::silu_backward, activation_grad<cpu::ActivationGrad::silu>);
  table.set(OpKind::where, where);
  table.set(OpKind::masked_fill, masked_fill);
  table.set(OpKind::dropout, dropout);
  table.set(OpKind::cast, [](const Node&, std::span<const Tensor> in, const Tensor& out) { out.copy_from(in[0]); });
}

}  // namespace hanvit
