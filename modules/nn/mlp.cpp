// MLP: the two projections, the activation between them and the activation-name table.
#include "modules/nn/mlp.h"

#include <stdexcept>

#include "modules/graph/ops.h"

namespace hanvit {

Activation activation_from_name(std::string_view name) {
  if (name == "gelu" || name == "gelu_python") return Activation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "quick_gelu") return Activation::quick_gelu;
  throw std::invalid_argument("unknown activation '" + std::string(name) +
                              "' (expected gelu, gelu_python, gelu_new, gelu_pytorch_tanh, gelu_fast or quick_gelu)");
}

Var apply_activation(Var x, Activation activation) {
  switch (activation) {
    case Activation::gelu_erf:
      return gelu_erf(x);
    case Activation::gelu_tanh:
      return gelu_tanh(x);
    case Activation::quick_gelu:
      // x * sigmoid(a x) = silu(a x) / a
      return mul_scalar(silu(mul_scalar(x, 1.702)), 1.0 / 1.702);
  }
  throw std::logic_error("apply_activation: unhandled activation");
}

MLP::MLP(const MLPConfig& config) : Module("MLP"), config_(config) {
  if (config.dim <= 0 || config.hidden <= 0)
    fail("dim and hidden must be positive, got dim=" + std::to_string(config.dim) +
         " hidden=" + std::to_string(config.hidden));
  fc1_ = register_module(config.fc1, std::make_shared<Linear>(config.dim, config.hidden, config.bias, config.layout));
  fc2_ = register_module(config.fc2, std::make_shared<Linear>(config.hidden, config.dim, config.bias, config.layout));
}

Var MLP::forward(Var x) const {
  Var h = apply_activation(fc1_->forward(x), config_.activation);  // (..., hidden)
  return fc2_->forward(h);                                         // (..., C)
}

}  // namespace hanvit
