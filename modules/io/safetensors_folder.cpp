// SafetensorsFolder: model.safetensors or a sharded set described by model.safetensors.index.json.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"

namespace hanvit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uintmax_t kMaxIndexBytes = 100'000'000;

// Throws "safetensors index '<index_path>': " followed by `parts`.
template <typename... Parts>
[[noreturn]] void fail_index(const std::string& index_path, const Parts&... parts) {
  std::string message = "safetensors index '" + index_path + "': ";
  (message.append(parts), ...);
  throw std::invalid_argument(message);
}

// A shard must be a plain file name inside the folder: no separators, no "." or "..".
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

json read_index(const std::string& index_path) {
  std::error_code error;
  uintmax_t size = fs::file_size(index_path, error);
  if (error) fail_index(index_path, "cannot read: " + error.message());
  if (size > kMaxIndexBytes)
    fail_index(index_path,
               "is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(kMaxIndexBytes));
  std::ifstream in(index_path, std::ios::binary);
  if (!in.is_open()) fail_index(index_path, "cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return parse_json_strict(text.str(), "safetensors index '" + index_path + "'");
}

}  // namespace

SafetensorsFolder::SafetensorsFolder(const std::string& dir) : dir_(dir) {
  if (!fs::is_directory(dir)) throw std::invalid_argument("safetensors folder '" + dir + "': not a directory");
  fs::path single = fs::path(dir) / kSafetensorsModelFile;
  fs::path index = fs::path(dir) / kSafetensorsIndexFile;
  if (fs::exists(single)) {
    files_.emplace_back(single.string());
    for (const std::string& name : files_[0].names()) shard_of_[name] = 0;
    metadata_ = files_[0].metadata();
  } else if (fs::exists(index)) {
    load_index(index.string());
  } else {
    throw std::invalid_argument("safetensors folder '" + dir + "': has neither " + kSafetensorsModelFile + " nor " +
                                kSafetensorsIndexFile);
  }
}

void SafetensorsFolder::load_index(const std::string& index_path) {
  json index = read_index(index_path);
  if (!index.is_object()) fail_index(index_path, "not a JSON object");
  if (index.contains("metadata")) {
    const json& metadata = index["metadata"];
    if (!metadata.is_object()) fail_index(index_path, "\"metadata\" is not an object");
    for (const auto& [key, value] : metadata.items())
      metadata_[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  if (!index.contains("weight_map")) fail_index(index_path, "missing \"weight_map\"");
  const json& weight_map = index["weight_map"];
  if (!weight_map.is_object()) fail_index(index_path, "\"weight_map\" is not an object");

  std::map<std::string, size_t> file_of_shard;  // shard file name -> index into files_
  for (const auto& [name, shard] : weight_map.items()) {
    if (!shard.is_string())
      fail_index(index_path, "tensor '", name, "' maps to ", shard.dump(), ", not a shard file name");
    std::string shard_name = shard.get<std::string>();
    if (!is_plain_file_name(shard_name))
      fail_index(index_path, "tensor '", name, "' maps to '", shard_name, "', not a file name inside the folder");
    auto [at, inserted] = file_of_shard.emplace(shard_name, files_.size());
    if (inserted) {
      fs::path shard_path = fs::path(dir_) / shard_name;
      if (!fs::is_regular_file(shard_path))
        fail_index(index_path, "shard '", shard_name, "' (holding tensor '", name, "') does not exist");
      files_.emplace_back(shard_path.string());
    }
    if (!files_[at->second].contains(name))
      fail_index(index_path, "tensor '", name, "' is mapped to shard '", shard_name, "', which does not contain it");
    shard_of_[name] = at->second;
  }
}

std::vector<std::string> SafetensorsFolder::names() const {
  std::vector<std::string> names;
  names.reserve(shard_of_.size());
  for (const auto& [name, shard] : shard_of_) names.push_back(name);
  return names;
}

size_t SafetensorsFolder::shard_index(const std::string& name) const {
  auto found = shard_of_.find(name);
  if (found == shard_of_.end())
    throw std::invalid_argument("safetensors folder '" + dir_ + "': no tensor named '" + name + "'");
  return found->second;
}

const SafetensorsTensorInfo& SafetensorsFolder::info(const std::string& name) const {
  return files_[shard_index(name)].info(name);
}

Tensor SafetensorsFolder::get(const std::string& name) const { return files_[shard_index(name)].get(name); }

}  // namespace hanvit
