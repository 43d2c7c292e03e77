// LayerNorm over the last axis with a learned scale and shift.
#pragma once

#include "modules/nn/module.h"

namespace hanvit {

// Parameters "weight" (dim, init 1) and "bias" (dim, init 0).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);

  // x (..., dim) -> (..., dim)
  Var forward(Var x) const;

  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

 private:
  int64_t dim_;
  double eps_;
};

}  // namespace hanvit
