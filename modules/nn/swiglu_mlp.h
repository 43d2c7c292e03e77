// SwiGLU MLP (LLaMA): down_proj(silu(gate_proj(x)) * up_proj(x)).
#pragma once

#include "modules/nn/linear.h"

namespace hanvit {

// Children "gate_proj" (C -> hidden), "up_proj" (C -> hidden), "down_proj" (hidden -> C);
// LLaMA has no biases (its `mlp_bias`).
class SwiGLUMLP : public Module {
 public:
  SwiGLUMLP(int64_t dim, int64_t hidden, bool bias = false);

  // x (..., C) -> (..., C)
  Var forward(Var x) const;

 private:
  std::shared_ptr<Linear> gate_, up_, down_;
};

}  // namespace hanvit
