// How vision joins language: gated cross-attention blocks between decoder layers (Flamingo /
// Llama-3.2-Vision style) or the decoder's own cross-attention (VisionEncoderDecoder style).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hanvit::fusion {

enum class FusionStyle {
  gated,            // projector + tanh-gated cross-attention blocks before listed decoder layers
  encoder_decoder,  // cross-attention inside every decoder block (GPT-2 add_cross_attention)
};

enum class ProjectorKind {
  linear,  // vision width -> text width
  mlp,     // linear, GELU, linear (LLaVA's mlp2x_gelu)
};

struct FusionConfig {
  FusionStyle style = FusionStyle::gated;
  // gated: a block runs before each of these decoder layers (sorted, distinct).
  std::vector<int64_t> layers;
  ProjectorKind projector = ProjectorKind::linear;
  int64_t num_heads = 0;          // cross-attention query heads; 0: the decoder's
  int64_t num_kv_heads = 0;       // 0: num_heads
  int64_t intermediate_size = 0;  // block MLP width; 0: the decoder's

  // The config.json "fusion" section. Throws std::invalid_argument "<subject>: <problem>".
  static FusionConfig from_json(const nlohmann::json& section, const std::string& subject);
  nlohmann::json to_json() const;

  // A command-line spec: "gated:every=4", "gated:layers=0,3,6", with optional ",projector=mlp",
  // ",heads=8", ",kv_heads=2"; "encoder-decoder" (alias "ved"). `num_layers` resolves every=k to
  // layers 0, k, 2k, ... below num_layers. Throws naming the spec and the bad part.
  static FusionConfig parse_spec(const std::string& spec, int64_t num_layers);
};

// Throws std::invalid_argument when the layers are not distinct, sorted and below num_layers.
void check_fusion_layers(const FusionConfig& config, int64_t num_layers, const std::string& subject);

}  // namespace hanvit::fusion
