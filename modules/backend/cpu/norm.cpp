// CPU adapters for the normalisation family: rows over the last axis, packed gradient outputs.
#include "kernels/cpu/norm.h"

#include "modules/backend/cpu/cpu_kernel_table.h"

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

}  // namespace

void register_cpu_norm(CpuKernelTable& table) {
  table.set(OpKind::layer_norm, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::layer_norm_f32(in[0].data<float>(), in[1].data<float>(), in[2].data<float>(), out.data<float>(), r.rows, r.c,
                        eps_of(node));
  });
  table.set(OpKind::layer_norm_backward, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    // out (numel(x) + 2C): dx, dweight, dbias
    const Rows r = rows_of(in[0]);
    float* dx = out.data<float>();
    float* dweight = dx + in[0].numel();
    cpu::layer_norm_backward_f32(in[0].data<float>(), in[1].data<float>(), in[2].data<float>(), dx, dweight,
                                 dweight + r.c, r.rows, r.c, eps_of(node));
  });
  table.set(OpKind::rms_norm, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    const Rows r = rows_of(in[0]);
    cpu::rms_norm_f32(in[0].data<float>(), in[1].data<float>(), out.data<float>(), r.rows, r.c, eps_of(node));
  });
  table.set(OpKind::rms_norm_backward, [](const Node& node, std::span<const Tensor> in, const Tensor& out) {
    // out (numel(x) + C): dx, dweight
    const Rows r = rows_of(in[0]);
    float* dx = out.data<float>();
    cpu::rms_norm_backward_f32(in[0].data<float>(), in[1].data<float>(), in[2].data<float>(), dx, dx + in[0].numel(),
                               r.rows, r.c, eps_of(node));
  });
}

}  // namespace hanvit
