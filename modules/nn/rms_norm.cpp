// RMSNorm: its parameter and the rms_norm op.
#include "modules/nn/rms_norm.h"

#include "modules/graph/ops.h"

namespace hanvit {

RMSNorm::RMSNorm(int64_t dim, double eps) : Module("RMSNorm"), dim_(dim), eps_(eps) {
  if (dim <= 0) fail("dim must be positive, got " + std::to_string(dim));
  if (!(eps > 0.0)) fail("eps must be positive, got " + std::to_string(eps));
  register_parameter("weight", {dim}, Init::ones());
}

Var RMSNorm::forward(Var x) const {
  if (x.rank() == 0 || x.dim(-1) != dim_) fail("input " + x.str() + " must have last dim " + std::to_string(dim_));
  return rms_norm(x, param(x.graph(), "weight"), eps_);
}

}  // namespace hanvit
