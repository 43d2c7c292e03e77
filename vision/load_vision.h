// Loading a Hugging Face vision folder (ViTModel, ViTForImageClassification, CLIPVisionModel,
// CLIPModel, SiglipVisionModel, SiglipModel): config.json + safetensors into a ParameterStore.
#pragma once

#include <memory>
#include <string>

#include "modules/nn/parameter_store.h"
#include "vision/vision_transformer.h"

namespace hanvit::vision {

struct LoadedVision {
  VisionConfig config;
  std::shared_ptr<VisionTransformer> model;
};

// The tower's parameters go into `store` under store_prefix + their names. Checkpoint names may
// carry the prefix of a wrapping model ("vision_model.", "vit."); text towers, projections and
// classifiers beside them are ignored. A ViT checkpoint without pooler weights loads without the
// pooler. Errors name DIR: config problems, missing tensors (listed), shapes that disagree with
// config.json, unsupported dtypes.
LoadedVision load_vision(const std::string& dir, ParameterStore& store, const std::string& store_prefix = "");

}  // namespace hanvit::vision
