// CUDA adapters for the normalisation family: rows over the last axis, packed gradient outputs.
#include "kernels/cuda/norm.h"

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

double eps_of(const Node& node) { return std::get<NormAttrs>(node.attrs).eps; }

// x (rows, c) read over its last axis.
struct Rows {
  int64_t rows = 0, c = 0;
};

Rows rows_of(const Tensor& x) {
  const int64_t c = x.shape().back();
  return {c == 0 ? 0 : x.numel() / c, c};
}

// The address of element `index` of a contiguous tensor.
void* element(const Tensor& t, int64_t index) {
  return static_cast<char*>(t.raw_data()) + index * static_cast<int64_t>(dtype_size(t.dtype()));
}

}  // namespace

void register_cuda_norm(CudaKernelTable& table) {
  // x (..., C), weight (C), bias (C) -> (..., C)
  table.set(
      OpKind::layer_norm,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::layer_norm(node.dtype, in[0].raw_data(), in[1].raw_data(), in[2].raw_data(), out.raw_data(), r.rows, r.c,
                         eps_of(node), ctx.stream);
      },
      kFloatDTypes);
  // x (..., C), weight (C), dy (..., C) -> out (numel(x) + 2C): dx, dweight, dbias
  table.set(
      OpKind::layer_norm_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        const int64_t n = in[0].numel();
        void* scratch = ctx.scratch(cuda::norm_backward_scratch_bytes(r.rows, r.c, true, ctx.multiprocessors));
        cuda::layer_norm_backward(node.dtype, in[0].raw_data(), in[1].raw_data(), in[2].raw_data(), out.raw_data(),
                                  element(out, n), element(out, n + r.c), r.rows, r.c, eps_of(node), scratch,
                                  ctx.multiprocessors, ctx.stream);
      },
      kFloatDTypes);
  // x (..., C), weight (C) -> (..., C)
  table.set(
      OpKind::rms_norm,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        cuda::rms_norm(node.dtype, in[0].raw_data(), in[1].raw_data(), out.raw_data(), r.rows, r.c, eps_of(node),
                       ctx.stream);
      },
      kFloatDTypes);
  // x (..., C), weight (C), dy (..., C) -> out (numel(x) + C): dx, dweight
  table.set(
      OpKind::rms_norm_backward,
      [](CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
        const Rows r = rows_of(in[0]);
        void* scratch = ctx.scratch(cuda::norm_backward_scratch_bytes(r.rows, r.c, false, ctx.multiprocessors));
        cuda::rms_norm_backward(node.dtype, in[0].raw_data(), in[1].raw_data(), in[2].raw_data(), out.raw_data(),
                                element(out, in[0].numel()), r.rows, r.c, eps_of(node), scratch, ctx.multiprocessors,
                                ctx.stream);
      },
      kFloatDTypes);
}

}  // namespace hanvit
