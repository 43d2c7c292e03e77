// CPU adapters for the layout family (view needs none: the executor aliases it).
#include "kernels/cpu/layout.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

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

void permute(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cpu::permute_copy(in[0].raw_data(), out.raw_data(), in[0].shape(), std::get<PermuteAttrs>(node.attrs).dims,
                    dtype_size(node.dtype));
}

void slice(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const auto& attrs = std::get<SliceAttrs>(node.attrs);
  const AroundAxis a = around(in[0].shape(), attrs.axis);
  cpu::slice_copy(in[0].raw_data(), out.raw_data(), a.outer, a.dim, a.inner, attrs.start,
                  node.shape[static_cast<size_t>(attrs.axis)], attrs.step, dtype_size(node.dtype));
}

void slice_backward(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const auto& attrs = std::get<SliceAttrs>(node.attrs);
  const AroundAxis a = around(node.shape, attrs.axis);
  cpu::slice_backward_copy(in[0].raw_data(), out.raw_data(), a.outer, a.dim, a.inner, attrs.start,
                           in[0].shape()[static_cast<size_t>(attrs.axis)], attrs.step, dtype_size(node.dtype));
}

void concat(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  const int axis = std::get<ConcatAttrs>(node.attrs).axis;
  const AroundAxis a = around(node.shape, axis);
  std::vector<const void*> xs;
  std::vector<int64_t> sizes;
  for (const Tensor& t : in) {
    xs.push_back(t.raw_data());
    sizes.push_back(t.shape()[static_cast<size_t>(axis)]);
  }
  cpu::concat_copy(xs, sizes, out.raw_data(), a.outer, a.inner, dtype_size(node.dtype));
}

void expand(const Node& node, std::span<const Tensor> in, const Tensor& out) {
  if (out.numel() == 0) return;
  cpu::expand_copy(in[0].raw_data(), out.raw_data(), in[0].shape(), node.shape, dtype_size(node.dtype));
}

}  // namespace

void register_cpu_layout(CpuKernelTable& table) {
  table.set(OpKind::permute, permute);
  table.set(OpKind::slice, slice);
  table.set(OpKind::slice_backward, slice_backward);
  table.set(OpKind::concat, concat);
  table.set(OpKind::expand, expand);
}

}  // namespace hanvit
