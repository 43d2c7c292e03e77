// Elementwise op builders and their backward rules: broadcasting binary ops, scalar ops,
// unary maths and activations, selection, dropout and casts.
#include <cmath>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

Var binary(OpKind op, Var a, Var b) {
  const char* name = op_name(op).data();
  require_float(name, a);
  if (a.dtype() != b.dtype()) op_error(name, "dtypes differ", {a, b});
  Shape shape;
  try {
    shape = broadcast_shapes(a.shape(), b.shape());
  } catch (const std::invalid_argument&) {
    op_error(name, "shapes do not broadcast", {a, b});
  }
  return record_op(op, {a, b}, shape, a.dtype());
}

Var unary(OpKind op, Var x, OpAttrs attrs = NoAttrs{}) {
  require_float(op_name(op).data(), x);
  return record_op(op, {x}, x.shape(), x.dtype(), std::move(attrs));
}

Var same_shape_pair(OpKind op, Var x, Var y) {
  const char* name = op_name(op).data();
  require_float(name, x);
  if (x.shape() != y.shape() || x.dtype() != y.dtype()) op_error(name, "needs two tensors of one shape and dtype", {x, y});
  return record_op(op, {x, y}, x.shape(), x.dtype());
}

double scalar_of(const BackwardContext& ctx) { return std::get<ScalarAttrs>(ctx.node.attrs).value; }

}  // namespace

Var full(Graph& g, const Shape& shape, double value, DType dtype) {
  Node node;
  node.op = OpKind::full;
  node.shape = shape;
  node.dtype = dtype;
  node.attrs = ScalarAttrs{value};
  return g.record(std::move(node));
}

Var add(Var a, Var b) { return binary(OpKind::add, a, b); }
Var sub(Var a, Var b) { return binary(OpKind::sub, a, b); }
Var mul(Var a, Var b) { return binary(OpKind::mul, a, b); }
Var div(Var a, Var b) { return binary(OpKind::div, a, b); }

void backward_add(BackwardContext& ctx) {
  ctx.input_grads[0] = sum_to(ctx.grad, ctx.input(0).shape());
  ctx.input_grads[1] = sum_to(ctx.grad, ctx.input(1).shape());
}

void backward_sub(BackwardContext& ctx) {
  ctx.input_grads[0] = sum_to(ctx.grad, ctx.input(0).shape());
  ctx.input_grads[1] = sum_to(neg(ctx.grad), ctx.input(1).shape());
}

void backward_mul(BackwardContext& ctx) {
  if (ctx.input(0).node().requires_grad) ctx.input_grads[0] = sum_to(mul(ctx.grad, ctx.input(1)), ctx.input(0).shape());
  if (ctx.input(1).node().requires_grad) ctx.input_grads[1] = sum_to(mul(ctx.grad, ctx.input(0)), ctx.input(1).shape());
}

void backward_div(BackwardContext& ctx) {
  Var b = ctx.input(1);
  Var grad_over_b = div(ctx.grad, b);
  if (ctx.input(0).node().requires_grad) ctx.input_grads[0] = sum_to(grad_over_b, ctx.input(0).shape());
  // d(a/b)/db = -(a/b)/b
  if (b.node().requires_grad) ctx.input_grads[1] = sum_to(neg(mul(grad_over_b, ctx.output)), b.shape());
}

Var add_scalar(Var x, double s) { return unary(OpKind::add_scalar, x, ScalarAttrs{s}); }
Var mul_scalar(Var x, double s) { return unary(OpKind::mul_scalar, x, ScalarAttrs{s}); }
Var pow_scalar(Var x, double p) { return unary(OpKind::pow_scalar, x, ScalarAttrs{p}); }

void backward_add_scalar(BackwardContext& ctx) { ctx.input_grads[0] = ctx.grad; }
void backward_mul_scalar(BackwardContext& ctx) { ctx.input_grads[0] = mul_scalar(ctx.grad, scalar_of(ctx)); }
void backward_pow_scalar(BackwardContext& ctx) {
  double p = scalar_of(ctx);
  ctx.input_grads[0] = mul(ctx.grad, mul_scalar(pow_scalar(ctx.input(0), p - 1.0), p));
}

Var neg(Var x) { return unary(OpKind::neg, x); }
Var exp(Var x) { return unary(OpKind::exp, x); }
Var log(Var x) { return unary(OpKind::log, x); }
Var sqrt(Var x) { return unary(OpKind::sqrt, x); }
Var rsqrt(Var x) { return unary(OpKind::rsqrt, x); }
Var tanh(Var x) { return unary(OpKind::tanh, x); }
Var gelu_tanh(Var x) { return unary(OpKind::gelu_tanh, x); }
Var gelu_erf(Var x) { return unary(OpKind::gelu_erf, x); }
Var silu(Var x) { return unary(OpKind::silu, x); }
Var swiglu(Var gate, Var up) { return same_shape_pair(OpKind::swiglu, gate, up); }
Var gelu_tanh_backward(Var x, Var dy) { return same_shape_pair(OpKind::gelu_tanh_backward, x, dy); }
Var gelu_erf_backward(Var x, Var dy) { return same_shape_pair(OpKind::gelu_erf_backward, x, dy); }
Var silu_backward(Var x, Var dy) { return same_shape_pair(OpKind::silu_backward, x, dy); }

void backward_neg(BackwardContext& ctx) { ctx.input_grads[0] = neg(ctx.grad); }
void backward_exp(BackwardContext& ctx) { ctx.input_grads[0] = mul(ctx.grad, ctx.output); }
void backward_log(BackwardContext& ctx) { ctx.input_grads[0] = div(ctx.grad, ctx.input(0)); }
void backward_sqrt(BackwardContext& ctx) { ctx.input_grads[0] = mul_scalar(div(ctx.grad, ctx.output), 0.5); }
void backward_rsqrt(BackwardContext& ctx) {
  ctx.input_grads[0] = mul(ctx.grad, mul_scalar(pow_scalar(ctx.output, 3.0), -0.5));
}
void backward_tanh(BackwardContext& ctx) {
  ctx.input_grads[0] = mul(ctx.grad, add_scalar(neg(mul(ctx.output, ctx.output)), 1.0));
}
void backward_gelu_tanh(BackwardContext& ctx) { ctx.input_grads[0] = gelu_tanh_backward(ctx.input(0), ctx.grad); }
void backward_gelu_erf(BackwardContext& ctx) { ctx.input_grads[0] = gelu_erf_backward(ctx.input(0), ctx.grad); }
void backward_silu(BackwardContext& ctx) { ctx.input_grads[0] = silu_backward(ctx.input(0), ctx.grad); }
void backward_swiglu(BackwardContext& ctx) {
  Var gate = ctx.input(0), up = ctx.input(1);
  if (gate.node().requires_grad) ctx.input_grads[0] = silu_backward(gate, mul(ctx.grad, up));
  if (up.node().requires_grad) ctx.input_grads[1] = mul(ctx.grad, silu(gate));
}

Var where(Var cond, Var a, Var b) {
  require_dtype("where", "condition", cond, DType::u8);
  require_float("where", a);
  if (a.dtype() != b.dtype()) op_error("where", "dtypes differ", {cond, a, b});
  Shape shape;
  try {
    shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape()));
  } catch (const std::invalid_argument&) {
    op_error("where", "shapes do not broadcast", {cond, a, b});
  }
  return record_op(OpKind::where, {cond, a, b}, shape, a.dtype());
}

void backward_where(BackwardContext& ctx) {
  Var cond = ctx.input(0);
  Var zeros = full(ctx.grad.graph(), ctx.grad.shape(), 0.0, ctx.grad.dtype());
  if (ctx.input(1).node().requires_grad) ctx.input_grads[1] = sum_to(where(cond, ctx.grad, zeros), ctx.input(1).shape());
  if (ctx.input(2).node().requires_grad) ctx.input_grads[2] = sum_to(where(cond, zeros, ctx.grad), ctx.input(2).shape());
}

Var masked_fill(Var x, Var mask, double value) {
  require_float("masked_fill", x);
  require_dtype("masked_fill", "mask", mask, DType::u8);
  Shape shape;
  try {
    shape = broadcast_shapes(x.shape(), mask.shape());
  } catch (const std::invalid_argument&) {
    op_error("masked_fill", "mask does not broadcast to the input", {x, mask});
  }
  if (shape != x.shape()) op_error("masked_fill", "mask does not broadcast to the input", {x, mask});
  return record_op(OpKind::masked_fill, {x, mask}, x.shape(), x.dtype(), ScalarAttrs{value});
}

void backward_masked_fill(BackwardContext& ctx) { ctx.input_grads[0] = masked_fill(ctx.grad, ctx.input(1), 0.0); }

Var dropout(Var x, double p, uint64_t seed) {
  require_float("dropout", x);
  if (!(p >= 0.0 && p < 1.0)) op_error("dropout", "probability " + std::to_string(p) + " outside [0, 1)", {x});
  return record_op(OpKind::dropout, {x}, x.shape(), x.dtype(), DropoutAttrs{p, seed});
}

void backward_dropout(BackwardContext& ctx) {
  const auto& attrs = std::get<DropoutAttrs>(ctx.node.attrs);
  ctx.input_grads[0] = dropout(ctx.grad, attrs.p, attrs.seed);
}

Var cast(Var x, DType dtype) { return record_op(OpKind::cast, {x}, x.shape(), dtype); }

void backward_cast(BackwardContext& ctx) {
  if (dtype_is_float(ctx.input(0).dtype()) && dtype_is_float(ctx.node.dtype))
    ctx.input_grads[0] = cast(ctx.grad, ctx.input(0).dtype());
}

}  // namespace hanvit
