// load_vision: config.json, the checkpoint's name prefix, then every parameter of the tower.
#include "vision/load_vision.h"

#include <filesystem>
#include <stdexcept>

#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"
#include "modules/nn/load_parameters.h"

namespace hanvit::vision {

LoadedVision load_vision(const std::string& dir, ParameterStore& store, const std::string& store_prefix) {
  const std::string subject = "vision model '" + dir + "'";
  if (!std::filesystem::is_directory(dir)) throw std::invalid_argument(subject + ": not a folder");
  LoadedVision loaded;
  loaded.config = VisionConfig::from_json(
      read_json_file_strict((std::filesystem::path(dir) / "config.json").string(), subject + " config.json"),
      subject + " config.json");
  const SafetensorsFolder folder(dir);
  const std::string probe = loaded.config.family == VisionFamily::vit ? "embeddings.patch_embeddings.projection.weight"
                                                                      : "embeddings.patch_embedding.weight";
  LoadOptions options;
  options.store_prefix = store_prefix;
  bool found = false;
  for (const char* prefix : {"", "vision_model.", "vit.", "model.vision_model.", "vision_tower.vision_model."}) {
    if (folder.contains(prefix + probe)) {
      options.checkpoint_prefix = prefix;
      found = true;
      break;
    }
  }
  if (!found) throw std::invalid_argument(subject + ": no tensor '" + probe + "' (under any known prefix): not a " +
                                          "checkpoint of this vision tower");
  if (loaded.config.family == VisionFamily::vit && !folder.contains(options.checkpoint_prefix + "pooler.dense.weight"))
    loaded.config.pooler = false;
  loaded.model = std::make_shared<VisionTransformer>(loaded.config);
  load_parameters(folder, *loaded.model, store, options);
  return loaded;
}

}  // namespace hanvit::vision
