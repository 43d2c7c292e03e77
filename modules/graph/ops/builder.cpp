// Shared checks and node recording for op builders.
#include "modules/graph/ops/builder.h"

#include <stdexcept>

namespace hanvit {

Var record_op(OpKind op, const std::vector<Var>& inputs, const Shape& shape, DType dtype, OpAttrs attrs) {
  if (inputs.empty()) throw std::logic_error(std::string(op_name(op)) + " recorded without inputs");
  Graph& g = inputs.front().graph();
  Node node;
  node.op = op;
  node.shape = shape;
  node.dtype = dtype;
  node.attrs = std::move(attrs);
  for (const Var& v : inputs) {
    if (!v.defined()) throw std::invalid_argument(std::string(op_name(op)) + ": undefined input");
    if (&v.graph() != &g) op_error(op_name(op).data(), "inputs come from different graphs", inputs);
    node.inputs.push_back(v.id());
  }
  return g.record(std::move(node));
}

void require_dtype(const char* op, const char* what, Var v, DType dtype) {
  if (v.dtype() != dtype)
    throw std::invalid_argument(std::string(op) + ": " + what + " must be " + std::string(dtype_name(dtype)) +
                                ", got " + std::string(dtype_name(v.dtype())) + shape_str(v.shape()));
}

void require_float(const char* op, Var v) {
  if (!dtype_is_float(v.dtype())) op_error(op, "needs a floating-point tensor", {v});
}

void require_float_like(const char* op, const char* what, Var v, Var like) {
  require_float(op, like);
  require_dtype(op, what, v, like.dtype());
}

void require_rank(const char* op, const char* what, Var v, size_t rank) {
  if (v.rank() != rank)
    throw std::invalid_argument(std::string(op) + ": " + what + " must have rank " + std::to_string(rank) +
                                ", got " + std::string(dtype_name(v.dtype())) + shape_str(v.shape()));
}

void op_error(const char* op, const std::string& message, const std::vector<Var>& vars) {
  std::string text = std::string(op) + ": " + message + " for ";
  for (size_t i = 0; i < vars.size(); ++i) {
    if (i) text += ", ";
    text += std::string(dtype_name(vars[i].dtype())) + shape_str(vars[i].shape());
  }
  throw std::invalid_argument(text);
}

}  // namespace hanvit
