// Projector: vision tokens (B, N, Cv) -> text-width tokens (B, N, Ct), linear or a two-layer GELU MLP.
#pragma once

#include "fusion/fusion_config.h"
#include "modules/nn/linear.h"

namespace hanvit::fusion {

// Children: "linear" (linear) or "fc1", "fc2" (mlp); weights normal(0, 0.02), biases zero.
class Projector : public Module {
 public:
  Projector(ProjectorKind kind, int64_t vision_dim, int64_t text_dim);

  Var forward(Var vision_tokens) const;  // (B, N, Cv) -> (B, N, Ct)

 private:
  ProjectorKind kind_;
  std::shared_ptr<Linear> linear_, fc1_, fc2_;
};

}  // namespace hanvit::fusion
