// Layer norm and RMS norm builders; their backward rules slice one packed 1-D gradient into pieces.
#include <cmath>
#include <string>
#include <vector>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

// x (..., C) floating point; every parameter (C) of x's dtype; eps finite and >= 0.
void check_norm(const char* op, Var x, const std::vector<Var>& params, double eps) {
  std::vector<Var> all{x};
  all.insert(all.end(), params.begin(), params.end());
  if (!dtype_is_float(x.dtype())) op_error(op, "needs a floating-point input", all);
  if (x.rank() == 0) op_error(op, "needs an input with at least one axis", all);
  const std::string what = params.size() == 1 ? "weight" : "weight and bias";
  for (Var p : params)
    if (p.shape() != Shape{x.dim(-1)} || p.dtype() != x.dtype())
      op_error(op, what + " must be (C) for x (..., C), of x's dtype", all);
  if (!(eps >= 0.0 && std::isfinite(eps))) op_error(op, "eps must be finite and >= 0, got " + std::to_string(eps), all);
}

void check_dy(const char* op, Var x, Var dy) {
  if (dy.shape() != x.shape() || dy.dtype() != x.dtype())
    op_error(op, "needs x and dy of one shape and dtype", {x, dy});
}

// The packed 1-D gradient's piece [begin, begin + numel(shape)) viewed as `shape`.
Var unpack(Var packed, int64_t begin, const Shape& shape) {
  Var piece = slice(packed, 0, begin, begin + numel(shape));
  return piece.shape() == shape ? piece : view(piece, shape);
}

}  // namespace

Var layer_norm(Var x, Var weight, Var bias, double eps) {
  check_norm("layer_norm", x, {weight, bias}, eps);
  return record_op(OpKind::layer_norm, {x, weight, bias}, x.shape(), x.dtype(), NormAttrs{eps});
}

Var layer_norm_backward(Var x, Var weight, Var dy, double eps) {
  check_norm("layer_norm_backward", x, {weight}, eps);
  check_dy("layer_norm_backward", x, dy);
  return record_op(OpKind::layer_norm_backward, {x, weight, dy}, Shape{numel(x.shape()) + 2 * x.dim(-1)}, x.dtype(),
                   NormAttrs{eps});
}

void backward_layer_norm(BackwardContext& ctx) {
  Var x = ctx.input(0), weight = ctx.input(1), bias = ctx.input(2);
  Var packed = layer_norm_backward(x, weight, ctx.grad, std::get<NormAttrs>(ctx.node.attrs).eps);
  const int64_t n = numel(x.shape()), c = x.dim(-1);
  if (x.node().requires_grad) ctx.input_grads[0] = unpack(packed, 0, x.shape());
  if (weight.node().requires_grad) ctx.input_grads[1] = unpack(packed, n, weight.shape());
  if (bias.node().requires_grad) ctx.input_grads[2] = unpack(packed, n + c, bias.shape());
}

Var rms_norm(Var x, Var weight, double eps) {
  check_norm("rms_norm", x, {weight}, eps);
  return record_op(OpKind::rms_norm, {x, weight}, x.shape(), x.dtype(), NormAttrs{eps});
}

Var rms_norm_backward(Var x, Var weight, Var dy, double eps) {
  check_norm("rms_norm_backward", x, {weight}, eps);
  check_dy("rms_norm_backward", x, dy);
  return record_op(OpKind::rms_norm_backward, {x, weight, dy}, Shape{numel(x.shape()) + x.dim(-1)}, x.dtype(),
                   NormAttrs{eps});
}

void backward_rms_norm(BackwardContext& ctx) {
  Var x = ctx.input(0), weight = ctx.input(1);
  Var packed = rms_norm_backward(x, weight, ctx.grad, std::get<NormAttrs>(ctx.node.attrs).eps);
  if (x.node().requires_grad) ctx.input_grads[0] = unpack(packed, 0, x.shape());
  if (weight.node().requires_grad) ctx.input_grads[1] = unpack(packed, numel(x.shape()), weight.shape());
}

}  // namespace hanvit
