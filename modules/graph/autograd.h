// Autograd by graph transformation: backward nodes are appended to the same graph.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "modules/graph/graph.h"

namespace hanvit {

// What a backward rule sees: the forward node, its output, the gradient flowing into it, and
// slots for the gradients of its inputs (leave a slot undefined when there is none).
struct BackwardContext {
  Node node;  // a copy: recording new nodes may move the graph's storage
  Var output;
  Var grad;
  std::vector<Var> input_grads;

  Var input(size_t i) const { return Var(&output.graph(), node.inputs.at(i)); }
};

using BackwardRule = void (*)(BackwardContext&);
BackwardRule backward_rule(OpKind op);

struct Gradients {
  std::map<std::string, Var> by_name;  // parameter name -> gradient (same shape)
  std::vector<Var> all() const;
  Var operator[](const std::string& name) const;
};

// Appends the backward of scalar `loss` to its graph; returns every parameter's gradient
// (parameters the loss does not depend on get none). Multiple uses accumulate.
Gradients backward(Var loss);

}  // namespace hanvit
