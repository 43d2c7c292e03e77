// Matmul builder and backward rule: batched or shared-operand products with transpose flags.
#include <stdexcept>
#include <string>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

// "f32(2,3)^T x f32(4,5)": the operands as written, a ^T marking a transposed one.
std::string operands(Var a, Var b, bool trans_a, bool trans_b) {
  auto one = [](Var v, bool t) { return std::string(dtype_name(v.dtype())) + shape_str(v.shape()) + (t ? "^T" : ""); };
  return one(a, trans_a) + " x " + one(b, trans_b);
}

[[noreturn]] void matmul_error(const std::string& message, Var a, Var b, bool trans_a, bool trans_b) {
  throw std::invalid_argument("matmul: " + message + " in " + operands(a, b, trans_a, trans_b));
}

}  // namespace

Var matmul(Var a, Var b, bool trans_a, bool trans_b) {
  require_float("matmul", a);
  require_float_like("matmul", "b", b, a);
  if (a.rank() < 2 || b.rank() < 2) matmul_error("operands need rank >= 2", a, b, trans_a, trans_b);
  const Shape &sa = a.shape(), &sb = b.shape();
  const int64_t m = trans_a ? a.dim(-1) : a.dim(-2), k = trans_a ? a.dim(-2) : a.dim(-1);
  const int64_t kb = trans_b ? b.dim(-1) : b.dim(-2), n = trans_b ? b.dim(-2) : b.dim(-1);
  if (k != kb)
    matmul_error("inner dimensions " + std::to_string(k) + " and " + std::to_string(kb) + " do not match", a, b,
                 trans_a, trans_b);
  Shape shape(sa.begin(), sa.end() - 2);  // (..., M, N)
  if (b.rank() != 2 && Shape(sb.begin(), sb.end() - 2) != shape)
    matmul_error("b must have a's batch dims or be 2-D", a, b, trans_a, trans_b);
  shape.push_back(m);
  shape.push_back(n);
  return record_op(OpKind::matmul, {a, b}, shape, a.dtype(), MatmulAttrs{trans_a, trans_b});
}

// With A' = op(A) (M, K), B' = op(B) (K, N) and C = A' B': dA' = dC B'^T, dB' = A'^T dC; a
// transposed operand takes the transpose of its gradient. A 2-D b shared by a batched a gets
// the sum of its per-batch gradients.
void backward_matmul(BackwardContext& ctx) {
  const auto& attrs = std::get<MatmulAttrs>(ctx.node.attrs);
  const bool ta = attrs.trans_a, tb = attrs.trans_b;
  Var a = ctx.input(0), b = ctx.input(1), dc = ctx.grad;
  const bool shared = b.rank() == 2 && a.rank() > 2;
  if (a.node().requires_grad) {
    if (!ta)
      ctx.input_grads[0] = matmul(dc, b, false, !tb);  // dC B'^T
    else if (!shared)
      ctx.input_grads[0] = matmul(b, dc, tb, true);  // (dC B'^T)^T = B' dC^T
    else
      ctx.input_grads[0] = transpose(matmul(dc, b, false, !tb), -2, -1);
  }
  if (b.node().requires_grad) {
    if (!shared) {
      ctx.input_grads[1] = tb ? matmul(dc, a, true, ta) : matmul(a, dc, !ta, false);
    } else {
      const int64_t m = ctx.output.dim(-2), n = ctx.output.dim(-1), k = b.dim(tb ? 1 : 0);
      const int64_t batch = numel(Shape(a.shape().begin(), a.shape().end() - 2));
      if (!ta) {  // rows of every batch stacked: (batch*M, K) and (batch*M, N)
        Var a2 = view(a, {batch * m, k}), dc2 = view(dc, {batch * m, n});
        ctx.input_grads[1] = tb ? matmul(dc2, a2, true, false) : matmul(a2, dc2, true, false);
      } else {  // a (batch, K, M): per-batch products, then their sum
        Var a3 = view(a, {batch, k, m}), dc3 = view(dc, {batch, m, n});
        ctx.input_grads[1] = sum(tb ? matmul(dc3, a3, true, true) : matmul(a3, dc3, false, false), {0});
      }
    }
  }
}

}  // namespace hanvit
