// Layout op builders and backward rules: view/reshape, permute/transpose, slice, concat/split, expand.
#include <algorithm>
#include <numeric>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

std::string list_str(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(values[i]);
  }
  return out + "]";
}

int axis_of(const char* op, int64_t axis, Var x) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (axis < -rank || axis >= rank) op_error(op, "axis " + std::to_string(axis) + " out of range", {x});
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

int64_t slice_count(int64_t start, int64_t end, int64_t step) { return (end - start + step - 1) / step; }

}  // namespace

Var view(Var x, const Shape& shape) {
  Shape resolved = shape;
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) op_error("view", "shape " + shape_str(shape) + " has two -1 dims", {x});
      inferred = static_cast<int>(i);
    } else if (shape[i] < 0) {
      op_error("view", "shape " + shape_str(shape) + " has a negative dim", {x});
    } else {
      known *= shape[i];
    }
  }
  const int64_t count = numel(x.shape());
  if (inferred >= 0) {
    if (known == 0 || count % known != 0) op_error("view", "cannot view as " + shape_str(shape), {x});
    resolved[static_cast<size_t>(inferred)] = count / known;
  }
  if (numel(resolved) != count) op_error("view", "cannot view as " + shape_str(shape), {x});
  if (resolved == x.shape()) return x;
  return record_op(OpKind::view, {x}, resolved, x.dtype());
}

Var reshape(Var x, const Shape& shape) { return view(x, shape); }

void backward_view(BackwardContext& ctx) { ctx.input_grads[0] = view(ctx.grad, ctx.input(0).shape()); }

Var permute(Var x, const std::vector<int64_t>& dims) {
  const size_t rank = x.rank();
  if (dims.size() != rank) op_error("permute", "dims " + list_str(dims) + " do not match the rank", {x});
  std::vector<int64_t> order(rank);
  std::vector<bool> seen(rank, false);
  Shape shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t r = static_cast<int64_t>(rank), d = dims[i] < 0 ? dims[i] + r : dims[i];
    if (d < 0 || d >= r || seen[static_cast<size_t>(d)])
      op_error("permute", "dims " + list_str(dims) + " are not a permutation", {x});
    seen[static_cast<size_t>(d)] = true;
    order[i] = d;
    shape[i] = x.shape()[static_cast<size_t>(d)];
  }
  // Moving only size-1 dims keeps the element order: that is a view.
  std::vector<int64_t> moved;
  for (int64_t d : order)
    if (x.shape()[static_cast<size_t>(d)] != 1) moved.push_back(d);
  if (std::is_sorted(moved.begin(), moved.end())) return view(x, shape);
  return record_op(OpKind::permute, {x}, shape, x.dtype(), PermuteAttrs{order});
}

void backward_permute(BackwardContext& ctx) {
  const auto& dims = std::get<PermuteAttrs>(ctx.node.attrs).dims;
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[static_cast<size_t>(dims[i])] = static_cast<int64_t>(i);
  ctx.input_grads[0] = permute(ctx.grad, inverse);
}

Var transpose(Var x, int64_t a, int64_t b) {
  std::vector<int64_t> dims(x.rank());
  std::iota(dims.begin(), dims.end(), int64_t{0});
  std::swap(dims[static_cast<size_t>(axis_of("transpose", a, x))],
            dims[static_cast<size_t>(axis_of("transpose", b, x))]);
  return permute(x, dims);
}

Var slice(Var x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  const int d = axis_of("slice", axis, x);
  const int64_t n = x.shape()[static_cast<size_t>(d)];
  const std::string range =
      std::string("[") + std::to_string(start) + ":" + std::to_string(end) + ":" + std::to_string(step) + "]";
  if (step < 1) op_error("slice", "step of " + range + " must be positive", {x});
  const int64_t s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
  if (s < 0 || e > n || s > e) op_error("slice", range + " out of range for axis " + std::to_string(d), {x});
  if (s == 0 && e == n && step == 1) return x;
  Shape shape = x.shape();
  shape[static_cast<size_t>(d)] = slice_count(s, e, step);
  return record_op(OpKind::slice, {x}, shape, x.dtype(), SliceAttrs{d, s, e, step});
}

void backward_slice(BackwardContext& ctx) {
  ctx.input_grads[0] = slice_backward(ctx.grad, ctx.input(0).shape(), std::get<SliceAttrs>(ctx.node.attrs));
}

Var slice_backward(Var dy, const Shape& input_shape, const SliceAttrs& slice) {
  const int64_t rank = static_cast<int64_t>(input_shape.size());
  const std::string what = std::string("slice [") + std::to_string(slice.start) + ":" + std::to_string(slice.end) +
                           ":" + std::to_string(slice.step) + "] of axis " + std::to_string(slice.axis) + " of " +
                           shape_str(input_shape);
  if (slice.axis < -rank || slice.axis >= rank) op_error("slice_backward", what + ": axis out of range", {dy});
  SliceAttrs attrs = slice;
  attrs.axis = static_cast<int>(slice.axis < 0 ? slice.axis + rank : slice.axis);
  const size_t d = static_cast<size_t>(attrs.axis);
  if (attrs.step < 1 || attrs.start < 0 || attrs.start > attrs.end || attrs.end > input_shape[d])
    op_error("slice_backward", what + ": range out of bounds", {dy});
  Shape expected = input_shape;
  expected[d] = slice_count(attrs.start, attrs.end, attrs.step);
  if (dy.shape() != expected)
    op_error("slice_backward", what + ": gradient must have shape " + shape_str(expected), {dy});
  return record_op(OpKind::slice_backward, {dy}, input_shape, dy.dtype(), attrs);
}

Var concat(const std::vector<Var>& xs, int64_t axis) {
  if (xs.empty()) throw std::invalid_argument("concat: needs at least one input");
  const Var first = xs.front();
  if (first.rank() == 0) op_error("concat", "cannot concatenate scalars", xs);
  const int d = axis_of("concat", axis, first);
  Shape shape = first.shape();
  shape[static_cast<size_t>(d)] = 0;
  for (const Var& x : xs) {
    if (x.dtype() != first.dtype()) op_error("concat", "dtypes differ", xs);
    bool same = x.rank() == first.rank();
    for (size_t k = 0; same && k < x.rank(); ++k)
      same = k == static_cast<size_t>(d) || x.shape()[k] == first.shape()[k];
    if (!same) op_error("concat", "shapes differ outside axis " + std::to_string(d), xs);
    shape[static_cast<size_t>(d)] += x.shape()[static_cast<size_t>(d)];
  }
  if (xs.size() == 1) return first;
  return record_op(OpKind::concat, xs, shape, first.dtype(), ConcatAttrs{d});
}

void backward_concat(BackwardContext& ctx) {
  const int axis = std::get<ConcatAttrs>(ctx.node.attrs).axis;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    Var x = ctx.input(i);
    const int64_t size = x.shape()[static_cast<size_t>(axis)];
    if (x.node().requires_grad) ctx.input_grads[i] = slice(ctx.grad, axis, offset, offset + size);
    offset += size;
  }
}

std::vector<Var> split(Var x, const std::vector<int64_t>& sizes, int64_t axis) {
  const int d = axis_of("split", axis, x);
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) op_error("split", "sizes " + list_str(sizes) + " have a negative size", {x});
    total += s;
  }
  if (total != x.shape()[static_cast<size_t>(d)])
    op_error("split", "sizes " + list_str(sizes) + " do not add up to axis " + std::to_string(d), {x});
  std::vector<Var> parts;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice(x, d, offset, offset + s));
    offset += s;
  }
  return parts;
}

Var expand(Var x, const Shape& shape) {
  const size_t rank = x.rank();
  bool ok = shape.size() >= rank;
  const size_t lead = ok ? shape.size() - rank : 0;
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    ok = shape[i] >= 0;
    if (ok && i >= lead) ok = x.shape()[i - lead] == shape[i] || x.shape()[i - lead] == 1;
  }
  if (!ok) op_error("expand", "cannot broadcast to " + shape_str(shape), {x});
  if (shape == x.shape()) return x;
  // Only size-1 dims added or kept: the same elements in the same order.
  if (numel(shape) == numel(x.shape()) && numel(shape) > 0) return view(x, shape);
  return record_op(OpKind::expand, {x}, shape, x.dtype());
}

void backward_expand(BackwardContext& ctx) { ctx.input_grads[0] = sum_to(ctx.grad, ctx.input(0).shape()); }

}  // namespace hanvit
