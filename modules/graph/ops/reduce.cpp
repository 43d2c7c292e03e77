// Reduction op builders and backward rules: sum, mean, max, sum_all, sum_to and max_backward.
#include <algorithm>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

std::string axes_str(const std::vector<int64_t>& axes) {
  std::string out = "[";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(axes[i]);
  }
  return out + "]";
}

// Normalised, sorted axes; an empty list means every axis.
ReduceAttrs reduce_attrs(const char* op, Var x, const std::vector<int64_t>& axes, bool keepdim) {
  ReduceAttrs attrs;
  attrs.keepdim = keepdim;
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (axes.empty())
    for (int d = 0; d < rank; ++d) attrs.axes.push_back(d);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) op_error(op, "axes " + axes_str(axes) + " out of range", {x});
    attrs.axes.push_back(static_cast<int>(a < 0 ? a + rank : a));
  }
  std::sort(attrs.axes.begin(), attrs.axes.end());
  if (std::adjacent_find(attrs.axes.begin(), attrs.axes.end()) != attrs.axes.end())
    op_error(op, "axes " + axes_str(axes) + " repeat an axis", {x});
  return attrs;
}

// The shape with the reduced axes set to 1 (keepdim) or removed.
Shape reduced_shape(const Shape& shape, const ReduceAttrs& attrs, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    bool reduced = std::binary_search(attrs.axes.begin(), attrs.axes.end(), static_cast<int>(d));
    if (!reduced) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

int64_t group_size(const Shape& shape, const ReduceAttrs& attrs) {
  int64_t n = 1;
  for (int a : attrs.axes) n *= shape[static_cast<size_t>(a)];
  return n;
}

Var reduce(OpKind op, Var x, const std::vector<int64_t>& axes, bool keepdim) {
  const char* name = op_name(op).data();
  require_float(name, x);
  ReduceAttrs attrs = reduce_attrs(name, x, axes, keepdim);
  Shape shape = reduced_shape(x.shape(), attrs, keepdim);
  if (op == OpKind::max && numel(x.shape()) == 0 && numel(shape) != 0) op_error(name, "reduces an empty group", {x});
  return record_op(op, {x}, shape, x.dtype(), std::move(attrs));
}

// grad (reduced shape) broadcast back over the reduced axes of x. x's shape is looked up after
// each record: recording may move the graph's storage.
Var spread(Var grad, Var x, const ReduceAttrs& attrs) {
  Var kept = view(grad, reduced_shape(x.shape(), attrs, true));
  return expand(kept, x.shape());
}

}  // namespace

Var sum(Var x, const std::vector<int64_t>& axes, bool keepdim) { return reduce(OpKind::sum, x, axes, keepdim); }
Var mean(Var x, const std::vector<int64_t>& axes, bool keepdim) { return reduce(OpKind::mean, x, axes, keepdim); }

Var max(Var x, const std::vector<int64_t>& axes, bool keepdim) { return reduce(OpKind::max, x, axes, keepdim); }

Var sum_all(Var x) { return sum(x, {}, false); }

Var sum_to(Var x, const Shape& shape) {
  const size_t rank = x.rank();
  if (shape.size() > rank) op_error("sum_to", "cannot sum to " + shape_str(shape), {x});
  const size_t lead = rank - shape.size();
  std::vector<int64_t> axes;
  Shape result;  // equals `shape`, which may live in the graph's storage that recording moves
  for (size_t d = 0; d < rank; ++d) {
    const int64_t have = x.shape()[d];
    if (d < lead) {
      if (have != 1) axes.push_back(static_cast<int64_t>(d));
      continue;
    }
    const int64_t want = shape[d - lead];
    if (want != have && want != 1) op_error("sum_to", "cannot sum to " + shape_str(shape), {x});
    if (want != have) axes.push_back(static_cast<int64_t>(d));
    result.push_back(want);
  }
  if (axes.empty()) return result == x.shape() ? x : view(x, result);
  Var summed = sum(x, axes, false);
  return summed.shape() == result ? summed : view(summed, result);
}

Var max_backward(Var x, Var y, Var dy, const ReduceAttrs& reduce) {
  require_float("max_backward", x);
  if (y.dtype() != x.dtype() || dy.dtype() != x.dtype()) op_error("max_backward", "dtypes differ", {x, y, dy});
  const int rank = static_cast<int>(x.rank());
  for (size_t i = 0; i < reduce.axes.size(); ++i)
    if (reduce.axes[i] < 0 || reduce.axes[i] >= rank || (i > 0 && reduce.axes[i] <= reduce.axes[i - 1]))
      op_error("max_backward", "axes must be sorted, unique and within the rank", {x, y, dy});
  const Shape expected = reduced_shape(x.shape(), reduce, reduce.keepdim);
  if (y.shape() != expected || dy.shape() != expected)
    op_error("max_backward", "max and its gradient must have shape " + shape_str(expected), {x, y, dy});
  return record_op(OpKind::max_backward, {x, y, dy}, x.shape(), x.dtype(), reduce);
}

void backward_sum(BackwardContext& ctx) {
  ctx.input_grads[0] = spread(ctx.grad, ctx.input(0), std::get<ReduceAttrs>(ctx.node.attrs));
}

void backward_mean(BackwardContext& ctx) {
  const auto& attrs = std::get<ReduceAttrs>(ctx.node.attrs);
  Var x = ctx.input(0);
  const double count = static_cast<double>(group_size(x.shape(), attrs));
  ctx.input_grads[0] = spread(mul_scalar(ctx.grad, 1.0 / count), x, attrs);
}

void backward_max(BackwardContext& ctx) {
  ctx.input_grads[0] = max_backward(ctx.input(0), ctx.output, ctx.grad, std::get<ReduceAttrs>(ctx.node.attrs));
}

}  // namespace hanvit
