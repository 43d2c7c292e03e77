// What a Hugging Face config.json says about a decoder LM (LlamaConfig / GPT2Config), resolved.
#pragma once

#include <cstdint>
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

struct DecoderConfig {
  DecoderFamily family = DecoderFamily::llama;
  std::string model_type = "llama";  // config.json's: llama, mistral, qwen2 (the llama family) or gpt2
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t num_layers = 0;
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // Hk (GQA); GPT-2: H
  int64_t head_dim = 0;           // Dh
  int64_t intermediate_size = 0;  // MLP width
  int64_t max_positions = 0;      // llama: max_position_embeddings; gpt2: n_positions
  double norm_eps = 1e-6;         // rms_norm_eps / layer_norm_epsilon
  double initializer_range = 0.02;  // std of the normal init of fresh weights
  double rope_theta = 10000.0;    // llama only
  RopeScaling rope_scaling;       // llama only
  bool tie_word_embeddings = false;
  Activation activation = Activation::gelu_tanh;  // gpt2: activation_function (llama: SiLU, fixed)
  bool attention_bias = false;    // llama: attention_bias (q/k/v/o)
  bool qkv_bias = false;          // qwen2: q/k/v projections carry biases, o_proj does not
  bool mlp_bias = false;          // llama: mlp_bias
  // mistral / qwen2: the keys each query may see (0: all). Sequences longer than the window are
  // refused, so within it the attention is the plain causal one.
  int64_t sliding_window = 0;
  bool add_cross_attention = false;  // gpt2: cross-attention in every block (VisionEncoderDecoder)
  int64_t bos_token_id = -1, pad_token_id = -1;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be a list in config.json

  // RoPE theta and position scale for a pass whose keys reach `total_length` positions (dynamic
  // NTK scaling grows theta past max_positions, as transformers does).
  RopeConfig rope_for_length(int64_t total_length) const;

  // Reads a Hugging Face config.json object (model_type llama, mistral, qwen2 or gpt2;
  // transformers 4 and 5 spellings of the RoPE settings).
  // Throws std::invalid_argument "<subject>: <problem>" for an unknown model_type, missing or
  // mistyped fields, inconsistent sizes, or unsupported rope_scaling.
  static DecoderConfig from_json(const nlohmann::json& config, const std::string& subject);
  // A config.json object that from_json reads back to this config (and transformers loads).
  nlohmann::json to_json() const;
};

}  // namespace hanvit::language
