// Embedding op builders and backward rules: token embedding lookup, its scatter-add, and RoPE.
#include <algorithm>
#include <cmath>
#include <string>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {

Var embedding(Var weight, Var ids) {
  require_float("embedding", weight);
  require_rank("embedding", "weight", weight, 2);
  require_dtype("embedding", "ids", ids, DType::i32);
  Shape shape = ids.shape();  // (..., D)
  shape.push_back(weight.dim(1));
  return record_op(OpKind::embedding, {weight, ids}, shape, weight.dtype());
}

void backward_embedding(BackwardContext& ctx) {
  Var weight = ctx.input(0);
  if (weight.node().requires_grad) ctx.input_grads[0] = embedding_backward(ctx.input(1), ctx.grad, weight.dim(0));
}

Var embedding_backward(Var ids, Var dy, int64_t vocab) {
  require_dtype("embedding_backward", "ids", ids, DType::i32);
  require_float("embedding_backward", dy);
  if (dy.rank() != ids.rank() + 1 || !std::equal(ids.shape().begin(), ids.shape().end(), dy.shape().begin()))
    op_error("embedding_backward", "dy must have the shape of ids plus one last dim", {ids, dy});
  if (vocab < 0) op_error("embedding_backward", "vocabulary size " + std::to_string(vocab) + " is negative", {ids, dy});
  return record_op(OpKind::embedding_backward, {ids, dy}, {vocab, dy.shape().back()}, dy.dtype());
}

Var rope(Var x, Var positions, double theta, double position_scale, bool inverse) {
  require_float("rope", x);
  require_rank("rope", "x", x, 4);
  require_dtype("rope", "positions", positions, DType::i32);
  require_rank("rope", "positions", positions, 1);
  if (x.dim(3) % 2 != 0) op_error("rope", "head dim " + std::to_string(x.dim(3)) + " must be even", {x, positions});
  if (positions.dim(0) != x.dim(2))
    op_error("rope", "needs one position per time step (x is (B, H, T, D))", {x, positions});
  if (!(theta > 0.0) || !std::isfinite(theta))
    op_error("rope", "theta must be positive and finite, got " + std::to_string(theta), {x, positions});
  if (!(position_scale > 0.0) || !std::isfinite(position_scale))
    op_error("rope", "position_scale must be positive and finite, got " + std::to_string(position_scale),
             {x, positions});
  return record_op(OpKind::rope, {x, positions}, x.shape(), x.dtype(), RopeAttrs{theta, position_scale, inverse});
}

// A rotation's adjoint is the rotation by the opposite angle.
void backward_rope(BackwardContext& ctx) {
  const auto& attrs = std::get<RopeAttrs>(ctx.node.attrs);
  ctx.input_grads[0] = rope(ctx.grad, ctx.input(1), attrs.theta, attrs.position_scale, !attrs.inverse);
}

}  // namespace hanvit
