// Linear: y = x W^T + b over the last axis, with torch's (out, in) weight or GPT-2's (in, out).
#pragma once

#include "modules/nn/module.h"

namespace hanvit {

enum class WeightLayout {
  out_in,  // torch nn.Linear: weight (out, in)
  in_out,  // GPT-2 Conv1D: weight (in, out)
};

// Parameters "weight" and, with bias, "bias" (out). Default init as torch's nn.Linear:
// U(-1/sqrt(in), 1/sqrt(in)) for both.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, WeightLayout layout = WeightLayout::out_in);

  // x (..., in) -> (..., out)
  Var forward(Var x) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  WeightLayout layout() const { return layout_; }

 private:
  int64_t in_, out_;
  bool bias_;
  WeightLayout layout_;
};

}  // namespace hanvit
