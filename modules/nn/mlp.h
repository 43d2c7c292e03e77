// MLP: fc2(act(fc1(x))) with a GELU-family activation and caller-chosen projection names.
#pragma once

#include <string>
#include <string_view>

#include "modules/nn/linear.h"

namespace hanvit {

enum class Activation {
  gelu_erf,    // exact GELU: Hugging Face "gelu"
  gelu_tanh,   // tanh approximation: "gelu_new", "gelu_pytorch_tanh", "gelu_fast"
  quick_gelu,  // x * sigmoid(1.702 x): CLIP's "quick_gelu"
};

// Maps a Hugging Face `hidden_act` to an Activation; throws naming unknown ones.
Activation activation_from_name(std::string_view name);
Var apply_activation(Var x, Activation activation);

struct MLPConfig {
  int64_t dim = 0;     // C: input and output width
  int64_t hidden = 0;  // inner width
  Activation activation = Activation::gelu_erf;
  // ViT: "intermediate.dense" / "output.dense" (mounted in its layer under ""); CLIP: "fc1" /
  // "fc2"; GPT-2: "c_fc" / "c_proj" with WeightLayout::in_out.
  std::string fc1 = "fc1";
  std::string fc2 = "fc2";
  bool bias = true;
  WeightLayout layout = WeightLayout::out_in;
};

class MLP : public Module {
 public:
  explicit MLP(const MLPConfig& config);

  // x (..., C) -> (..., C)
  Var forward(Var x) const;

  const MLPConfig& config() const { return config_; }

 private:
  MLPConfig config_;
  std::shared_ptr<Linear> fc1_, fc2_;
};

}  // namespace hanvit
