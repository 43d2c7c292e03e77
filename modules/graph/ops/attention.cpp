// Fused attention builders (forward and its packed backward) and the backward rule of attention.
#include <cmath>
#include <string>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

// Checks q (B, Hq, Tq, D), k (B, Hk, Tk, D), v (B, Hk, Tk, Dv), key_mask u8 (B, Tk) and the scale;
// errors name `op` and the shapes.
void check_attention(const char* op, Var q, Var k, Var v, const std::optional<Var>& key_mask, double scale) {
  require_float(op, q);
  require_float_like(op, "k", k, q);
  require_float_like(op, "v", v, q);
  require_rank(op, "q (B, Hq, Tq, D)", q, 4);
  require_rank(op, "k (B, Hk, Tk, D)", k, 4);
  require_rank(op, "v (B, Hk, Tk, Dv)", v, 4);
  if (k.dim(0) != q.dim(0) || v.dim(0) != q.dim(0)) op_error(op, "q, k and v batch sizes differ", {q, k, v});
  if (k.dim(1) != v.dim(1)) op_error(op, "k and v head counts differ", {q, k, v});
  if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0)
    op_error(op,
             "query heads (" + std::to_string(q.dim(1)) + ") must be a multiple of kv heads (" +
                 std::to_string(k.dim(1)) + ")",
             {q, k, v});
  if (k.dim(2) != v.dim(2)) op_error(op, "k and v lengths differ", {q, k, v});
  if (q.dim(3) != k.dim(3))
    op_error(op, "q and k head dims differ (" + std::to_string(q.dim(3)) + " vs " + std::to_string(k.dim(3)) + ")",
             {q, k, v});
  if (key_mask) {
    require_dtype(op, "key_mask", *key_mask, DType::u8);
    if (key_mask->shape() != Shape{q.dim(0), k.dim(2)})
      op_error(op, "key_mask must be (B, Tk) = " + shape_str({q.dim(0), k.dim(2)}), {q, k, *key_mask});
  }
  if (!std::isfinite(scale))
    throw std::invalid_argument(std::string(op) + ": scale must be finite, got " + std::to_string(scale));
}

std::vector<Var> with_mask(std::vector<Var> vars, const std::optional<Var>& key_mask) {
  if (key_mask) vars.push_back(*key_mask);
  return vars;
}

}  // namespace

Var attention(Var q, Var k, Var v, std::optional<Var> key_mask, bool causal, double scale) {
  check_attention("attention", q, k, v, key_mask, scale);
  return record_op(OpKind::attention, with_mask({q, k, v}, key_mask), {q.dim(0), q.dim(1), q.dim(2), v.dim(3)},
                   q.dtype(), AttentionAttrs{causal, scale});
}

// Inputs q, k, v[, key_mask], dout: the mask, when present, is input 3 as in the forward.
Var attention_backward(Var q, Var k, Var v, std::optional<Var> key_mask, Var dout, const AttentionAttrs& attrs) {
  check_attention("attention_backward", q, k, v, key_mask, attrs.scale);
  require_float_like("attention_backward", "dout", dout, q);
  if (dout.shape() != Shape{q.dim(0), q.dim(1), q.dim(2), v.dim(3)})
    op_error("attention_backward", "dout must be (B, Hq, Tq, Dv)", {q, v, dout});
  std::vector<Var> inputs = with_mask({q, k, v}, key_mask);
  inputs.push_back(dout);
  return record_op(OpKind::attention_backward, inputs, {numel(q.shape()) + numel(k.shape()) + numel(v.shape())},
                   q.dtype(), attrs);
}

void backward_attention(BackwardContext& ctx) {
  const auto& attrs = std::get<AttentionAttrs>(ctx.node.attrs);
  std::optional<Var> key_mask;
  if (ctx.node.inputs.size() == 4) key_mask = ctx.input(3);
  Var packed = attention_backward(ctx.input(0), ctx.input(1), ctx.input(2), key_mask, ctx.grad, attrs);
  int64_t start = 0;
  for (size_t i = 0; i < 3; ++i) {
    Var x = ctx.input(i);
    const int64_t n = numel(x.shape());
    if (x.node().requires_grad) ctx.input_grads[i] = view(slice(packed, 0, start, start + n), x.shape());
    start += n;
  }
}

}  // namespace hanvit
