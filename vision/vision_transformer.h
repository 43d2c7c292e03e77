// VisionTransformer: a ViT, CLIP or SigLIP vision tower with Hugging Face's parameter names
// (ViTModel, CLIPVisionModel, SiglipVisionModel), built from a VisionConfig.
#pragma once

#include <memory>

#include "vision/vision_layers.h"

namespace hanvit::vision {

struct VisionOutputs {
  Var last_hidden;  // (B, S, C): ViT after its final LayerNorm; CLIP before post_layernorm; SigLIP after it
  Var pooled;       // (B, C), or undefined when the config has no pooler
};

class VisionTransformer : public Module {
 public:
  explicit VisionTransformer(const VisionConfig& config);

  // pixels f32 (B, num_channels, image_size, image_size)
  VisionOutputs forward(Var pixels) const;

  const VisionConfig& config() const { return config_; }
  int64_t hidden_size() const { return config_.hidden_size; }
  int64_t num_tokens() const { return config_.num_tokens(); }

 private:
  Var embed(Var pixels) const;  // -> (B, S, C) with positions added

  VisionConfig config_;
  std::shared_ptr<Group> embeddings_;
  std::shared_ptr<PatchEmbedding> patches_;
  std::shared_ptr<ModuleList<EncoderLayer>> layers_;
  std::shared_ptr<LayerNorm> pre_norm_, final_norm_;  // clip: pre_layrnorm / post_layernorm
  std::shared_ptr<Linear> pooler_dense_;              // vit
  std::shared_ptr<AttentionPoolingHead> head_;         // siglip
};

}  // namespace hanvit::vision
