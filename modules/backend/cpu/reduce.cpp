// CPU adapters for the reduction family: the input shape and reduced axes, then the raw kernels.
#include "kernels/cpu/reduce.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {
namespace {

template <cpu::ReduceOp Op>
void reduce(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  cpu::reduce_f32(Op, in[0].shape(), std::get<ReduceAttrs>(node.attrs).axes, in[0].data<float>(), out.data<float>());
}

void max_backward(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  cpu::max_backward_f32(in[0].shape(), std::get<ReduceAttrs>(node.attrs).axes, in[0].data<float>(), in[1].data<float>(),
                        in[2].data<float>(), out.data<float>());
}

}  // namespace

void register_cpu_reduce(CpuKernelTable& table) {
  table.set(OpKind::sum, reduce<cpu::ReduceOp::sum>);
  table.set(OpKind::mean, reduce<cpu::ReduceOp::mean>);
  table.set(OpKind::max, reduce<cpu::ReduceOp::max>);
  table.set(OpKind::max_backward, max_backward);
}

}  // namespace hanvit
