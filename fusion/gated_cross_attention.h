// Gated cross-attention block (Flamingo / Llama-3.2-Vision): text tokens attend to visual tokens,
// and tanh gates (initialised to zero) scale what is added to the residual stream.
#pragma once

#include <memory>

#include "modules/nn/attention.h"
#include "modules/nn/layer_norm.h"
#include "modules/nn/mlp.h"
#include "modules/nn/rms_norm.h"
#include "modules/nn/swiglu_mlp.h"

namespace hanvit::fusion {

struct GatedBlockConfig {
  int64_t dim = 0;           // C: text width (the projected visual tokens have it too)
  int64_t num_heads = 0;     // H
  int64_t num_kv_heads = 0;  // Hk, H % Hk == 0
  int64_t intermediate_size = 0;
  bool rms_norm = true;      // RMSNorm + SwiGLU MLP (LLaMA-family text) or LayerNorm + GELU MLP (GPT-2)
  double norm_eps = 1e-6;
};

struct GatedBlockOutput {
  Var hidden;     // (B, T, C)
  Var attention;  // with want_attention: (B, T, S), the cross-attention probabilities averaged over heads
};

// h = x + tanh(attn_gate) * o_proj(attention(q_proj(norm_attn(x)), K, V))
// y = h + tanh(mlp_gate) * mlp(norm_mlp(h))
// Parameters: "norm_attn.*", "q_proj", "k_proj", "v_proj", "o_proj" (no biases), "attn_gate" (1),
// "norm_mlp.*", "mlp.*" ("gate_proj/up_proj/down_proj" or "fc1/fc2"), "mlp_gate" (1).
class GatedCrossAttentionBlock : public Module {
 public:
  explicit GatedCrossAttentionBlock(const GatedBlockConfig& config);

  // Visual tokens (B, S, C) -> keys and values (B, Hk, S, Dh): once per image.
  KeyValues project_visual(Var visual) const;
  GatedBlockOutput forward(Var x, const KeyValues& visual, bool want_attention = false) const;

  const GatedBlockConfig& config() const { return config_; }

 private:
  Var norm_attn(Var x) const;
  Var norm_mlp(Var x) const;
  Var mlp(Var x) const;
  Var heads(Var x, int64_t count) const;  // (B, T, count*Dh) -> (B, count, T, Dh)

  GatedBlockConfig config_;
  int64_t head_dim_;
  std::shared_ptr<RMSNorm> rms_attn_, rms_mlp_;       // rms_norm
  std::shared_ptr<LayerNorm> ln_attn_, ln_mlp_;       // otherwise
  std::shared_ptr<SwiGLUMLP> swiglu_;                  // rms_norm
  std::shared_ptr<MLP> gelu_mlp_;                      // otherwise
  std::shared_ptr<Linear> q_, k_, v_, o_;
};

}  // namespace hanvit::fusion
