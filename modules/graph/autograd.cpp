// Reverse sweep over the graph that records gradient nodes and accumulates them per input.
#include "modules/graph/autograd.h"

#include <stdexcept>

#include "modules/graph/ops.h"
#include "modules/graph/recompute.h"

namespace hanvit {

#define HANVIT_DECLARE_BACKWARD_0(name)
#define HANVIT_DECLARE_BACKWARD_1(name) void backward_##name(BackwardContext&);
#define HANVIT_DECLARE_BACKWARD(name, arity, differentiable) HANVIT_DECLARE_BACKWARD_##differentiable(name)
HANVIT_OPS(HANVIT_DECLARE_BACKWARD)
#undef HANVIT_DECLARE_BACKWARD

namespace {

#define HANVIT_RULE_0(name) nullptr
#define HANVIT_RULE_1(name) &backward_##name
#define HANVIT_RULE(name, arity, differentiable) HANVIT_RULE_##differentiable(name),
constexpr BackwardRule kRules[] = {HANVIT_OPS(HANVIT_RULE)};
#undef HANVIT_RULE
static_assert(sizeof(kRules) / sizeof(kRules[0]) == kOpCount);

}  // namespace

BackwardRule backward_rule(OpKind op) { return kRules[static_cast<int>(op)]; }

std::vector<Var> Gradients::all() const {
  std::vector<Var> out;
  for (const auto& [name, grad] : by_name) out.push_back(grad);
  return out;
}

Var Gradients::operator[](const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) throw std::invalid_argument("no gradient for parameter '" + name + "'");
  return it->second;
}

Gradients backward(Var loss) {
  Graph& g = loss.graph();
  if (!g.grad_enabled()) throw std::invalid_argument("backward() on an inference graph");
  if (!loss.shape().empty() && numel(loss.shape()) != 1)
    throw std::invalid_argument("backward() needs a scalar loss, got " + loss.str());
  Recomputation recomputation(g);
  std::vector<Var> grads(static_cast<size_t>(loss.id()) + 1);
  grads[static_cast<size_t>(loss.id())] = full(g, loss.shape(), 1.0, loss.dtype());
  Gradients result;
  for (int id = loss.id(); id >= 0; --id) {
    Var grad = grads[static_cast<size_t>(id)];
    const Node& node = g.node(id);
    if (!grad.defined() || !node.requires_grad) continue;
    if (node.op == OpKind::parameter) {
      result.by_name[node.name] = grad;
      continue;
    }
    BackwardContext ctx{node, Var(&g, id), grad, std::vector<Var>(node.inputs.size())};
    recomputation.substitute(ctx);
    backward_rule(ctx.node.op)(ctx);
    for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
      Var input_grad = ctx.input_grads[i];
      int input_id = g.node(id).inputs[i];  // the original: gradients accumulate per forward node
      if (!input_grad.defined() || !g.node(input_id).requires_grad) continue;
      if (input_grad.shape() != g.node(input_id).shape)
        throw std::logic_error("backward of " + std::string(op_name(ctx.node.op)) + " gave gradient " +
                               input_grad.str() + " for input of shape " + shape_str(g.node(input_id).shape));
      Var& slot = grads[static_cast<size_t>(input_id)];
      slot = slot.defined() ? add(slot, input_grad) : input_grad;
    }
  }
  return result;
}

}  // namespace hanvit
