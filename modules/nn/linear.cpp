// Linear: one matmul against the weight (transposed for torch's layout) plus the bias.
#include "modules/nn/linear.h"

#include <cmath>

#include "modules/graph/ops.h"

namespace hanvit {

Linear::Linear(int64_t in, int64_t out, bool bias, WeightLayout layout)
    : Module("Linear"), in_(in), out_(out), bias_(bias), layout_(layout) {
  if (in <= 0 || out <= 0)
    fail("features must be positive, got in=" + std::to_string(in) + " out=" + std::to_string(out));
  const Init init = Init::uniform(1.0 / std::sqrt(static_cast<double>(in)));
  register_parameter("weight", layout == WeightLayout::out_in ? Shape{out, in} : Shape{in, out}, init);
  if (bias) register_parameter("bias", {out}, init);
}

Var Linear::forward(Var x) const {
  if (x.rank() == 0 || x.dim(-1) != in_) fail("input " + x.str() + " must have last dim " + std::to_string(in_));
  Graph& g = x.graph();
  Var rows = x.rank() == 2 ? x : view(x, {numel(x.shape()) / in_, in_});             // (N, in)
  Var y = matmul(rows, param(g, "weight"), false, layout_ == WeightLayout::out_in);  // (N, out)
  if (bias_) y = y + param(g, "bias");
  if (g.linear_adapter()) y = g.linear_adapter()(path(), rows, y);  // e.g. LoRA: (N, out)
  if (x.rank() == 2) return y;
  Shape shape = x.shape();
  shape.back() = out_;
  return view(y, shape);  // (..., out)
}

}  // namespace hanvit
