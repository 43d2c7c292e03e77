// A vision-language model folder: config.json + safetensors (single or sharded) + tokenizer and
// preprocessor files; loaded into a ParameterStore, saved atomically.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fusion/vision_language_model.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::fusion {

// Files a model folder carries beside its weights, copied by save_model from a source folder.
inline const std::vector<std::string> kModelSideFiles = {
    "tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "preprocessor_config.json", "generation_config.json"};

// Shards above this size when saving (Hugging Face's default is 5 GB; 2 GiB keeps files mappable
// everywhere).
inline constexpr uint64_t kMaxShardBytes = uint64_t{2} << 30;

struct LoadedModel {
  ModelConfig config;
  std::shared_ptr<VisionLanguageModel> model;
};

// Reads DIR/config.json (ours, or Hugging Face's vision-encoder-decoder) and every parameter into
// `store` under the model's full names (f32). Errors name DIR: a missing or malformed config, an
// unknown architecture, missing tensors (listed), shapes that disagree with config.json, dtypes.
LoadedModel load_model(const std::string& dir, ParameterStore& store);

// Writes the model's files into the existing folder `folder` (each file fsynced): config.json, the
// weights (sharded above kMaxShardBytes), each existing file of `side_files` copied under its own
// name, and `text_files` (name -> contents).
void write_model_files(const std::filesystem::path& folder, const ModelConfig& config, const VisionLanguageModel& model,
                       const ParameterStore& store, const std::vector<std::filesystem::path>& side_files,
                       const std::map<std::string, std::string>& text_files = {});

// Writes DIR whole or not at all (write_folder_atomically): config.json, the weights, each
// existing file of `side_files` copied under its own name, and `text_files` (name -> contents).
void save_model(const std::string& dir, const ModelConfig& config, const VisionLanguageModel& model,
                const ParameterStore& store, const std::vector<std::filesystem::path>& side_files, bool overwrite,
                const std::map<std::string, std::string>& text_files = {});

}  // namespace hanvit::fusion
