// CPU adapters for the softmax family: rows and columns from the node's shapes, then the raw kernels.
#include "kernels/cpu/softmax.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

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

void register_cpu_softmax(CpuKernelTable& table) {
  table.set(OpKind::softmax, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::softmax_f32(in[0].data<float>(), out.data<float>(), r.rows, r.cols);
  });
  table.set(OpKind::log_softmax, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::log_softmax_f32(in[0].data<float>(), out.data<float>(), r.rows, r.cols);
  });
  table.set(OpKind::softmax_backward, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::softmax_backward_f32(in[0].data<float>(), in[1].data<float>(), out.data<float>(), r.rows, r.cols);
  });
  table.set(OpKind::log_softmax_backward, [](const Node&, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::log_softmax_backward_f32(in[0].data<float>(), in[1].data<float>(), out.data<float>(), r.rows, r.cols);
  });
  table.set(OpKind::cross_entropy, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const auto& attrs = std::get<CrossEntropyAttrs>(node.attrs);
    *out.data<float>() = cpu::cross_entropy_f32(in[0].data<float>(), in[1].data<int32_t>(), in[0].dim(0), in[0].dim(1),
                                                attrs.ignore_index, attrs.label_smoothing);
  });
  table.set(OpKind::cross_entropy_backward, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const auto& attrs = std::get<CrossEntropyAttrs>(node.attrs);
    cpu::cross_entropy_backward_f32(in[0].data<float>(), in[1].data<int32_t>(), in[0].dim(0), in[0].dim(1),
                                    attrs.ignore_index, attrs.label_smoothing, *in[2].data<float>(), out.data<float>());
  });
}

}  // namespace hanvit
