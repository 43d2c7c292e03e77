// Composing a vision-language model from parts: each a pretrained Hugging Face folder (its weights
// are loaded) or a config.json file (fresh weights), joined by a fusion spec (`hanvit init`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fusion/model_folder.h"

namespace hanvit::fusion {

struct ComposeOptions {
  std::string vision;       // folder (pretrained) or config.json file (fresh)
  std::string language;     // folder (pretrained) or config.json file (fresh)
  std::string fusion_spec;  // FusionConfig::parse_spec: "gated:every=4", "encoder-decoder", ...
  std::string tokenizer;    // optional folder with tokenizer files (default: the language folder)
  uint64_t seed = 0;        // fresh weights (fusion layers always) are drawn from it
};

struct ComposedModel {
  LoadedModel loaded;
  std::vector<std::filesystem::path> side_files;  // tokenizer and preprocessor files to copy
  std::string preprocessor_json;                  // written when the vision part brings none
};

// Throws std::invalid_argument naming the part and the problem.
ComposedModel compose_model(const ComposeOptions& options, ParameterStore& store);

// The Hugging Face image-processor config of a fresh vision tower of `config`'s family
// (CLIPImageProcessor / SiglipImageProcessor / ViTImageProcessor defaults at its image size).
nlohmann::json default_preprocessor_config(const vision::VisionConfig& config);

}  // namespace hanvit::fusion
