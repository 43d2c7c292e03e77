// RMSNorm over the last axis with a learned scale (LLaMA).
#pragma once

#include "modules/nn/module.h"

namespace hanvit {

// Parameter "weight" (dim, init 1): x * rsqrt(mean(x^2) + eps) * weight.
class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6);

  // x (..., dim) -> (..., dim)
  Var forward(Var x) const;

  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

 private:
  int64_t dim_;
  double eps_;
};

}  // namespace hanvit
