// Decoder-only language models on the graph runtime: the LLaMA family and the GPT-2 family
// (optionally with GPT-2's cross-attention in every block), one interface for both.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "modules/nn/attention.h"
#include "modules/nn/mlp.h"

namespace hanvit::language {

enum class DecoderFamily { llama, gpt2 };

struct RopeScaling {
  enum class Kind { none, linear, dynamic };
  Kind kind = Kind::none;
  double factor = 1.0;
};

// What a Hugging Face config.json says about a decoder (LlamaConfig / GPT2Config), resolved.
struct DecoderConfig {
  DecoderFamily family = DecoderFamily::llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t num_layers = 0;
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // Hk (GQA); GPT-2: H
  int64_t head_dim = 0;           // Dh
  int64_t intermediate_size = 0;  // MLP width
  int64_t max_positions = 0;      // llama: max_position_embeddings; gpt2: n_positions
  double norm_eps = 1e-6;         // rms_norm_eps / layer_norm_epsilon
  double rope_theta = 10000.0;    // llama only
  RopeScaling rope_scaling;       // llama only
  bool tie_word_embeddings = false;
  Activation activation = Activation::gelu_tanh;  // gpt2: activation_function (llama: SiLU, fixed)
  bool attention_bias = false;    // llama: attention_bias (q/k/v/o)
  bool mlp_bias = false;          // llama: mlp_bias
  bool add_cross_attention = false;  // gpt2: cross-attention in every block (VisionEncoderDecoder)
  int64_t bos_token_id = -1, pad_token_id = -1;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be a list in config.json

  // Reads a Hugging Face config.json object ("model_type" llama/mistral-like llama or gpt2).
  // Throws std::invalid_argument "<subject>: <problem>" for an unknown model_type, missing or
  // mistyped fields, inconsistent sizes, or unsupported rope_scaling.
  static DecoderConfig from_json(const nlohmann::json& config, const std::string& subject);
  // A config.json object that from_json reads back to this config (and transformers loads).
  nlohmann::json to_json() const;
};

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
  struct Impl;
  std::shared_ptr<Impl> impl_;
  DecoderConfig config_;
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
