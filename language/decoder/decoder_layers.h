// One decoder layer with Hugging Face's names: LLaMA's (RMSNorm, RoPE attention with GQA, SwiGLU)
// or GPT-2's block (LayerNorm, fused Conv1D attention, GELU MLP, optional cross-attention).
#pragma once

#include <memory>
#include <optional>

#include "language/decoder/decoder_config.h"
#include "modules/nn/embedding.h"
#include "modules/nn/layer_norm.h"
#include "modules/nn/rms_norm.h"
#include "modules/nn/swiglu_mlp.h"

namespace hanvit::language {

struct LayerInputs {
  Var x{};                        // (B, T, C)
  Var positions{};                // i32 (T), llama
  std::optional<RopeConfig> rope{};
  KeyValues cache{};              // (B, Hk, Tp, Dh) or undefined
  std::optional<Var> key_mask{};  // u8 (B, Tp + T)
  Var context{};                  // gpt2 cross-attention: (B, S, C), or
  KeyValues cross{};              // its projection
  std::optional<Var> context_mask{};
};

struct LayerOutputs {
  Var x;          // (B, T, C)
  KeyValues kv;   // (B, Hk, Tp + T, Dh)
};

// llama: "input_layernorm", "self_attn.{q,k,v,o}_proj", "post_attention_layernorm", "mlp.{gate,up,down}_proj".
// gpt2: "ln_1", "attn.c_attn", "attn.c_proj", ["ln_cross_attn", "crossattention.{q_attn,c_attn,c_proj}"],
// "ln_2", "mlp.c_fc", "mlp.c_proj".
class DecoderLayer : public Module {
 public:
  explicit DecoderLayer(const DecoderConfig& config);

  LayerOutputs forward(const LayerInputs& in) const;
  KeyValues project_context(Var context) const;  // gpt2 with cross-attention

 private:
  DecoderFamily family_;
  std::shared_ptr<RMSNorm> rms1_, rms2_;
  std::shared_ptr<LayerNorm> ln1_, ln2_, ln_cross_;
  std::shared_ptr<Attention> attention_, cross_;
  std::shared_ptr<SwiGLUMLP> swiglu_;
  std::shared_ptr<MLP> mlp_;
};

}  // namespace hanvit::language
