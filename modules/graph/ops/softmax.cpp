// Softmax-family op builders and backward rules; cross_entropy with every row ignored is 0 (PyTorch: NaN).
#include <string>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

void require_float_rows(const char* op, Var x) {
  require_float(op, x);
  if (x.rank() == 0) op_error(op, "needs at least one axis", {x});
}

Var over_last_axis(OpKind op, Var x) {
  require_float_rows(op_name(op).data(), x);
  return record_op(op, {x}, x.shape(), x.dtype());
}

Var backward_pair(OpKind op, Var y, Var dy) {
  const char* name = op_name(op).data();
  require_float_rows(name, y);
  if (y.shape() != dy.shape() || y.dtype() != dy.dtype())
    op_error(name, "needs y and dy of one shape and dtype", {y, dy});
  return record_op(op, {y, dy}, y.shape(), y.dtype());
}

void check_cross_entropy(const char* op, Var logits, Var labels, const CrossEntropyAttrs& attrs) {
  require_float(op, logits);
  require_rank(op, "logits", logits, 2);
  require_dtype(op, "labels", labels, DType::i32);
  require_rank(op, "labels", labels, 1);
  if (labels.dim(0) != logits.dim(0)) op_error(op, "logits (N, V) and labels (N) disagree on N", {logits, labels});
  if (logits.dim(1) == 0) op_error(op, "logits need at least one class", {logits, labels});
  if (!(attrs.label_smoothing >= 0.0 && attrs.label_smoothing <= 1.0))
    op_error(op, "label_smoothing must be in [0, 1], got " + std::to_string(attrs.label_smoothing), {logits, labels});
}

}  // namespace

Var softmax(Var x) { return over_last_axis(OpKind::softmax, x); }
Var log_softmax(Var x) { return over_last_axis(OpKind::log_softmax, x); }
Var softmax_backward(Var y, Var dy) { return backward_pair(OpKind::softmax_backward, y, dy); }
Var log_softmax_backward(Var y, Var dy) { return backward_pair(OpKind::log_softmax_backward, y, dy); }

void backward_softmax(BackwardContext& ctx) { ctx.input_grads[0] = softmax_backward(ctx.output, ctx.grad); }
void backward_log_softmax(BackwardContext& ctx) { ctx.input_grads[0] = log_softmax_backward(ctx.output, ctx.grad); }

Var cross_entropy(Var logits, Var labels, int64_t ignore_index, double label_smoothing) {
  const CrossEntropyAttrs attrs{ignore_index, label_smoothing};
  check_cross_entropy("cross_entropy", logits, labels, attrs);
  return record_op(OpKind::cross_entropy, {logits, labels}, Shape{}, DType::f32, attrs);
}

Var cross_entropy_backward(Var logits, Var labels, Var dloss, const CrossEntropyAttrs& attrs) {
  check_cross_entropy("cross_entropy_backward", logits, labels, attrs);
  require_dtype("cross_entropy_backward", "dloss", dloss, DType::f32);
  require_rank("cross_entropy_backward", "dloss", dloss, 0);
  return record_op(OpKind::cross_entropy_backward, {logits, labels, dloss}, logits.shape(), logits.dtype(), attrs);
}

void backward_cross_entropy(BackwardContext& ctx) {
  ctx.input_grads[0] =
      cross_entropy_backward(ctx.input(0), ctx.input(1), ctx.grad, std::get<CrossEntropyAttrs>(ctx.node.attrs));
}

}  // namespace hanvit
