// Node recording, leaves and lookups of the computation graph.
#include "modules/graph/graph.h"

#include <stdexcept>

namespace hanvit {

const Node& Var::node() const { return graph_->node(id_); }

int64_t Var::dim(int64_t axis) const { return shape()[normalize_axis(axis, rank())]; }

std::string Var::str() const {
  if (!defined()) return "<undefined>";
  return std::string(op_name(node().op)) + "#" + std::to_string(id_) + " " +
         std::string(dtype_name(dtype())) + shape_str(shape());
}

Var Graph::add_leaf(OpKind op, const std::string& name, const Shape& shape, DType dtype) {
  if (find_leaf(name) >= 0)
    throw std::invalid_argument("graph already has an input or parameter named '" + name + "'");
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(shape) + " of '" + name + "'");
  Node node;
  node.op = op;
  node.shape = shape;
  node.dtype = dtype;
  node.name = name;
  node.requires_grad = op == OpKind::parameter && grad_enabled_ && !(frozen_ && frozen_(name));
  nodes_.push_back(std::move(node));
  return Var(this, static_cast<int>(nodes_.size()) - 1);
}

Var Graph::input(const std::string& name, const Shape& shape, DType dtype) {
  return add_leaf(OpKind::input, name, shape, dtype);
}

Var Graph::parameter(const std::string& name, const Shape& shape, DType dtype) {
  return add_leaf(OpKind::parameter, name, shape, dtype);
}

Var Graph::constant(const Tensor& value) {
  Node node;
  node.op = OpKind::constant;
  node.shape = value.shape();
  node.dtype = value.dtype();
  node.value = value.contiguous();
  nodes_.push_back(std::move(node));
  return Var(this, static_cast<int>(nodes_.size()) - 1);
}

Var Graph::record(Node node) {
  int arity = op_arity(node.op);
  if (arity >= 0 && static_cast<int>(node.inputs.size()) != arity)
    throw std::logic_error(std::string(op_name(node.op)) + " recorded with " +
                           std::to_string(node.inputs.size()) + " inputs");
  node.requires_grad = false;
  for (int id : node.inputs) {
    if (id < 0 || static_cast<size_t>(id) >= nodes_.size())
      throw std::logic_error(std::string(op_name(node.op)) + " input id out of range");
    node.requires_grad = node.requires_grad || nodes_[static_cast<size_t>(id)].requires_grad;
  }
  node.requires_grad = node.requires_grad && grad_enabled_ && op_differentiable(node.op);
  node.region = region_;
  nodes_.push_back(std::move(node));
  return Var(this, static_cast<int>(nodes_.size()) - 1);
}

int Graph::find_leaf(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if ((nodes_[i].op == OpKind::input || nodes_[i].op == OpKind::parameter) && nodes_[i].name == name)
      return static_cast<int>(i);
  return -1;
}

std::vector<Var> Graph::parameters() {
  std::vector<Var> out;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == OpKind::parameter) out.emplace_back(this, static_cast<int>(i));
  return out;
}

}  // namespace hanvit
