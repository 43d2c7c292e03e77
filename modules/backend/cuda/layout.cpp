// CUDA adapters for the layout family (view needs none: the executor aliases it); every dtype moves as bytes.
#include "kernels/cuda/layout.h"

#include <vector>

#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {
namespace {

// A shape read as (outer, dim, inner) around one axis.
struct AroundAxis {
  int64_t outer = 1, dim = 1, inner = 1;
};

AroundAxis around(const Shape& shape, int axis) {
  AroundAxis a;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d < static_cast<size_t>(axis)) a.outer *= shape[d];
    if (d > static_cast<size_t>(axis)) a.inner *= shape[d];
  }
  a.dim = shape[static_cast<size_t>(axis)];
  return a;
}

// x -> y with y's dim i = x's dim dims[i]
void permute(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cuda::permute(node.dtype, in[0].raw_data(), out.raw_data(), in[0].shape(), std::get<PermuteAttrs>(node.attrs).dims,
                ctx.stream);
}

// x (outer, dim, inner) -> (outer, count, inner)
void slice(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const auto& attrs = std::get<SliceAttrs>(node.attrs);
  const AroundAxis a = around(in[0].shape(), attrs.axis);
  cuda::slice(node.dtype, in[0].raw_data(), out.raw_data(), a.outer, a.dim, a.inner, attrs.start,
              node.shape[static_cast<size_t>(attrs.axis)], attrs.step, ctx.stream);
}

// dy (outer, count, inner) -> dx (outer, dim, inner), zero outside the slice
void slice_backward(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const auto& attrs = std::get<SliceAttrs>(node.attrs);
  const AroundAxis a = around(node.shape, attrs.axis);
  const void* dy = in[0].numel() > 0 ? in[0].raw_data() : nullptr;
  cuda::slice_backward(node.dtype, dy, out.raw_data(), a.outer, a.dim, a.inner, attrs.start,
                       in[0].shape()[static_cast<size_t>(attrs.axis)], attrs.step, ctx.stream);
}

// xs[k] (outer, sizes[k], inner) -> (outer, sum(sizes), inner)
void concat(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const int axis = std::get<ConcatAttrs>(node.attrs).axis;
  const AroundAxis a = around(node.shape, axis);
  std::vector<const void*> xs;
  std::vector<int64_t> sizes;
  for (const Tensor& t : in) {
    xs.push_back(t.numel() > 0 ? t.raw_data() : nullptr);
    sizes.push_back(t.shape()[static_cast<size_t>(axis)]);
  }
  cuda::concat(node.dtype, xs, sizes, out.raw_data(), a.outer, a.inner, ctx.stream);
}

// x (in shape) broadcast -> node.shape
void expand(CudaContext& ctx, const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cuda::expand(node.dtype, in[0].raw_data(), in[0].shape(), out.raw_data(), node.shape, ctx.stream);
}

}  // namespace

void register_cuda_layout(CudaKernelTable& table) {
  table.set(OpKind::permute, permute, kAllDTypes);
  table.set(OpKind::slice, slice, kAllDTypes);
  table.set(OpKind::slice_backward, slice_backward, kAllDTypes);
  table.set(OpKind::concat, concat, kAllDTypes);
  table.set(OpKind::expand, expand, kAllDTypes);
}

}  // namespace hanvit
