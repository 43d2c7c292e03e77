// Loading and saving vision-language model folders.
#include "fusion/model_folder.h"

#include <fstream>
#include <stdexcept>

#include "modules/io/atomic_file.h"
#include "modules/io/atomic_folder.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"
#include "modules/nn/load_parameters.h"

namespace hanvit::fusion {
namespace fs = std::filesystem;
namespace {

void copy_file_durably(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw std::runtime_error(from.string() + ": cannot open");
  write_file_atomically(to.string(), [&](const WriteBytes& write) {
    char buffer[1 << 16];
    while (in) {
      in.read(buffer, sizeof(buffer));
      if (in.gcount() > 0) write(buffer, static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error(from.string() + ": read error");
  });
}

}  // namespace

LoadedModel load_model(const std::string& dir, ParameterStore& store) {
  const std::string subject = "model '" + dir + "'";
  if (!fs::is_directory(dir)) throw std::invalid_argument(subject + ": not a folder");
  const nlohmann::json json =
      read_json_file_strict((fs::path(dir) / "config.json").string(), subject + " config.json");
  LoadedModel loaded;
  loaded.config = ModelConfig::from_json(json, subject + " config.json");
  loaded.model = std::make_shared<VisionLanguageModel>(loaded.config);
  const SafetensorsFolder folder(dir);
  LoadOptions options;
  // Buffers some writers store beside the parameters.
  options.ignored_suffixes = {".attn.bias", ".attn.masked_bias", "crossattention.bias", "crossattention.masked_bias",
                              "rotary_emb.inv_freq"};
  load_parameters(folder, *loaded.model, store, options);
  return loaded;
}

void write_model_files(const fs::path& folder, const ModelConfig& config, const VisionLanguageModel& model,
                       const ParameterStore& store, const std::vector<fs::path>& side_files,
                       const std::map<std::string, std::string>& text_files) {
  write_text_atomically((folder / "config.json").string(), config.to_json().dump(2) + "\n");
  save_safetensors_sharded(folder.string(), collect_parameters(model, store), kMaxShardBytes, {{"format", "pt"}});
  for (const fs::path& file : side_files)
    if (fs::is_regular_file(file)) copy_file_durably(file, folder / file.filename());
  for (const auto& [name, text] : text_files) write_text_atomically((folder / name).string(), text);
}

void save_model(const std::string& dir, const ModelConfig& config, const VisionLanguageModel& model,
                const ParameterStore& store, const std::vector<fs::path>& side_files, bool overwrite,
                const std::map<std::string, std::string>& text_files) {
  write_folder_atomically(dir, overwrite, [&](const fs::path& temp) {
    write_model_files(temp, config, model, store, side_files, text_files);
  });
}

}  // namespace hanvit::fusion
