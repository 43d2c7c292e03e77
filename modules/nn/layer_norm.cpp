// LayerNorm: its parameters and the layer_norm op.
#include "modules/nn/layer_norm.h"

#include "modules/graph/ops.h"

namespace hanvit {

LayerNorm::LayerNorm(int64_t dim, double eps) : Module("LayerNorm"), dim_(dim), eps_(eps) {
  if (dim <= 0) fail("dim must be positive, got " + std::to_string(dim));
  if (!(eps > 0.0)) fail("eps must be positive, got " + std::to_string(eps));
  register_parameter("weight", {dim}, Init::ones());
  register_parameter("bias", {dim}, Init::zeros());
}

Var LayerNorm::forward(Var x) const {
  if (x.rank() == 0 || x.dim(-1) != dim_) fail("input " + x.str() + " must have last dim " + std::to_string(dim_));
  Graph& g = x.graph();
  return layer_norm(x, param(g, "weight"), param(g, "bias"), eps_);
}

}  // namespace hanvit
