// CUDA adapters for the softmax family: rows and columns from the node's shapes, then the row kernels.
#include "kernels/cuda/softmax.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

// (rows, cols) of a tensor read as rows over its last axis.
struct Rows {
  int64_t rows = 0, cols = 0;
};

Rows rows_of(const Tensor& t) {
  const int64_t cols = t.shape().back();
  return {cols == 0 ? 0 : t.numel() / cols, cols};
}

}  // namespace

void register_cuda_softmax(CudaKernelTable& table) {
  // x (..., C) -> y (..., C)
  table.set(
      OpKind::softmax,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::softmax(node.dtype, in[0].raw_data(), out.raw_data(), r.rows, r.cols, ctx.stream);
      },
      kFloatDTypes);
  table.set(
      OpKind::log_softmax,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::log_softmax(node.dtype, in[0].raw_data(), out.raw_data(), r.rows, r.cols, ctx.stream);
      },
      kFloatDTypes);
  // y, dy (..., C) -> dx (..., C)
  table.set(
      OpKind::softmax_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::softmax_backward(node.dtype, in[0].raw_data(), in[1].raw_data(), out.raw_data(), r.rows, r.cols,
                               ctx.stream);
      },
      kFloatDTypes);
  table.set(
      OpKind::log_softmax_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::log_softmax_backward(node.dtype, in[0].raw_data(), in[1].raw_data(), out.raw_data(), r.rows, r.cols,
                                   ctx.stream);
      },
      kFloatDTypes);
  // logits (N, V) of any float dtype, labels i32 (N) -> f32 scalar loss
  table.set(
      OpKind::cross_entropy,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const auto& attrs = std::get<CrossEntropyAttrs>(node.attrs);
        const int64_t rows = in[0].dim(0);
        const size_t bytes = cuda::cross_entropy_scratch_bytes(rows);
        void* scratch = bytes == 0 ? nullptr : ctx.scratch(bytes);
        cuda::cross_entropy(in[0].dtype(), in[0].raw_data(), in[1].data<int32_t>(), rows, in[0].dim(1),
                            attrs.ignore_index, attrs.label_smoothing, out.data<float>(), scratch, ctx.stream);
      },
      dtype_bit(DType::f32));
  // logits (N, V), labels i32 (N), dloss f32 scalar -> dlogits (N, V) in the logits' dtype
  table.set(
      OpKind::cross_entropy_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const auto& attrs = std::get<CrossEntropyAttrs>(node.attrs);
        if (out.numel() == 0) return;
        void* scratch = ctx.scratch(cuda::cross_entropy_backward_scratch_bytes());
        cuda::cross_entropy_backward(node.dtype, in[0].raw_data(), in[1].data<int32_t>(), in[0].dim(0), in[0].dim(1),
                                     attrs.ignore_index, attrs.label_smoothing, in[2].data<float>(), out.raw_data(),
                                     scratch, ctx.stream);
      },
      kFloatDTypes);
}

}  // namespace hanvit
