// What a Hugging Face config.json says about a vision tower (ViTModel, CLIPVisionModel,
// SiglipVisionModel, or the vision part of a full CLIP / SigLIP config), resolved.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "modules/nn/mlp.h"

namespace hanvit::vision {

enum class VisionFamily {
  vit,     // class token, learned positions, final LayerNorm, optional dense+tanh pooler
  clip,    // class token, pre-LayerNorm, pooled = post-LayerNorm of the class token
  siglip,  // no class token, post-LayerNorm on every token, optional attention-pooling head
};

struct VisionConfig {
  VisionFamily family = VisionFamily::vit;
  int64_t image_size = 224;
  int64_t patch_size = 16;
  int64_t num_channels = 3;
  int64_t hidden_size = 768;  // C
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t intermediate_size = 3072;
  Activation activation = Activation::gelu_erf;
  double layer_norm_eps = 1e-12;
  bool qkv_bias = true;  // vit's qkv_bias; clip and siglip always have biases
  // vit: the dense+tanh pooler (add_pooling_layer); siglip: the attention-pooling head
  // (vision_use_head); clip: always (post-LayerNorm of the class token, no parameters of its own).
  bool pooler = true;

  int64_t grid() const { return image_size / patch_size; }  // patches per side
  int64_t num_patches() const { return grid() * grid(); }
  bool class_token() const { return family != VisionFamily::siglip; }
  int64_t num_tokens() const { return num_patches() + (class_token() ? 1 : 0); }  // S

  // model_type vit, clip_vision_model, siglip_vision_model, or clip / siglip (their
  // "vision_config" is read); absent fields take the defaults of transformers' config class.
  // Throws std::invalid_argument "<subject>: <problem>".
  static VisionConfig from_json(const nlohmann::json& config, const std::string& subject);
  // A config.json object that from_json and transformers read back to this config.
  nlohmann::json to_json() const;
};

}  // namespace hanvit::vision
