// CUDA adapters for the reduction family: the input shape and reduced axes, scratch from the context, then the kernels.
#include "kernels/cuda/reduce.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

// x (shape) -> y (kept dims) over ReduceAttrs axes.
template <cuda::ReduceOp Op>
void reduce(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const std::vector<int>& axes = std::get<ReduceAttrs>(node.attrs).axes;
  const Shape& shape = in[0].shape();
  const size_t bytes = cuda::reduce_scratch_bytes(Op, node.dtype, shape, axes, ctx.multiprocessors);
  void* scratch = bytes == 0 ? nullptr : ctx.scratch(bytes);
  cuda::reduce(Op, node.dtype, shape, axes, in[0].raw_data(), out.raw_data(), scratch, ctx.multiprocessors, ctx.stream);
}

// x (shape), y and dy (kept dims) -> dx (shape).
void max_backward(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  const std::vector<int>& axes = std::get<ReduceAttrs>(node.attrs).axes;
  const Shape& shape = in[0].shape();
  if (out.numel() == 0) return;
  void* scratch = ctx.scratch(cuda::max_backward_scratch_bytes(shape, axes));
  cuda::max_backward(node.dtype, shape, axes, in[0].raw_data(), in[1].raw_data(), in[2].raw_data(), out.raw_data(),
                     scratch, ctx.stream);
}

}  // namespace

void register_cuda_reduce(CudaKernelTable& table) {
  table.set(OpKind::sum, reduce<cuda::ReduceOp::sum>, kFloatDTypes);
  table.set(OpKind::mean, reduce<cuda::ReduceOp::mean>, kFloatDTypes);
  table.set(OpKind::max, reduce<cuda::ReduceOp::max>, kFloatDTypes);
  table.set(OpKind::max_backward, max_backward, kFloatDTypes);
}

}  // namespace hanvit
