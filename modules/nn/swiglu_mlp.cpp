// SwiGLU MLP: gate and up projections, the swiglu op, the down projection.
#include "modules/nn/swiglu_mlp.h"

#include "modules/graph/ops.h"

namespace hanvit {

SwiGLUMLP::SwiGLUMLP(int64_t dim, int64_t hidden, bool bias) : Module("SwiGLUMLP") {
  if (dim <= 0 || hidden <= 0)
    fail("dim and hidden must be positive, got dim=" + std::to_string(dim) + " hidden=" + std::to_string(hidden));
  gate_ = register_module("gate_proj", std::make_shared<Linear>(dim, hidden, bias));
  up_ = register_module("up_proj", std::make_shared<Linear>(dim, hidden, bias));
  down_ = register_module("down_proj", std::make_shared<Linear>(hidden, dim, bias));
}

Var SwiGLUMLP::forward(Var x) const {
  return down_->forward(swiglu(gate_->forward(x), up_->forward(x)));  // (..., hidden) -> (..., C)
}

}  // namespace hanvit
