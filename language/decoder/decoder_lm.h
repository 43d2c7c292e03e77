// Decoder-only language models on the graph runtime: the LLaMA family and the GPT-2 family
// (optionally with GPT-2's cross-attention in every block), one interface for both.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "language/decoder/decoder_layers.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::language {

struct DecoderInputs {
  Var ids;        // i32 (B, T): the new tokens
  Var positions;  // i32 (T): positions of the new tokens, Tp .. Tp+T-1 for rows without left padding.
                  // RoPE is relative, so left-padded rows need no positions of their own (llama).
  Var position_ids;  // gpt2 only, optional: i32 (B, T) per-row learned positions (left padding);
                     // undefined -> `positions` for every row
  std::vector<KeyValues> cache;   // per layer (B, Hk, Tp, Dh), or empty when there is no past
  std::optional<Var> key_mask;    // u8 (B, Tp + T), 1 = attend (padding); none = all
  // gpt2 with add_cross_attention: the encoder's hidden states (B, S, C) or their per-layer
  // projections from project_context() (then `context` may be undefined).
  Var context;
  std::vector<KeyValues> cross_cache;
  std::optional<Var> context_mask;  // u8 (B, S)
  // Called with (layer index, hidden (B, T, C)) before each decoder layer; returns the hidden
  // state the layer receives. The fusion layer's gated cross-attention blocks plug in here.
  std::function<Var(int64_t, Var)> before_layer;
  bool last_only = false;  // logits for the last position only: (B, 1, V)
};

struct DecoderOutputs {
  Var hidden;                     // (B, T, C) after the final norm
  Var logits;                     // (B, T, V) or (B, 1, V) with last_only
  std::vector<KeyValues> cache;   // per layer (B, Hk, Tp + T, Dh): the next step's cache
};

// Parameters keep their Hugging Face names: "model.layers.0.self_attn.q_proj.weight",
// "lm_head.weight" (untied only) for llama; "transformer.h.0.attn.c_attn.weight" for gpt2
// (GPT2LMHeadModel; its lm_head is always tied to transformer.wte).
class DecoderLM : public Module {
 public:
  explicit DecoderLM(const DecoderConfig& config);

  DecoderOutputs forward(const DecoderInputs& in) const;
  // gpt2 with add_cross_attention: context (B, S, C) -> per layer keys/values (B, H, S, Dh).
  std::vector<KeyValues> project_context(Var context) const;
  Var embed(Var ids) const;      // (B, T) -> (B, T, C): token embeddings only
  Var lm_head(Var hidden) const;  // (..., C) -> (..., V)

  const DecoderConfig& config() const { return config_; }

 private:
  DecoderConfig config_;
  std::shared_ptr<Embedding> tokens_, positions_;  // positions: gpt2's wpe
  std::shared_ptr<ModuleList<DecoderLayer>> layers_;
  std::shared_ptr<RMSNorm> rms_final_;    // llama
  std::shared_ptr<LayerNorm> ln_final_;   // gpt2
  std::shared_ptr<Linear> lm_head_;       // untied only
};

// A decoder folder (config.json + model.safetensors or shards): the config, the module, and the
// f32 parameters in `store` under `store_prefix` + Hugging Face name. Tied checkpoints without
// lm_head.weight load; buffers (gpt2 attn.bias / attn.masked_bias, llama rotary inv_freq) are
// ignored; anything else unknown is an error naming the tensors. Errors name the folder.
struct LoadedDecoder {
  DecoderConfig config;
  std::shared_ptr<DecoderLM> model;
};
LoadedDecoder load_decoder(const std::string& dir, ParameterStore& store, const std::string& store_prefix = "");

}  // namespace hanvit::language
