// save_safetensors and save_safetensors_sharded: validation, reference tensor order, atomic files.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>

#include "modules/io/atomic_file.h"
#include "modules/io/safetensors.h"
#include "modules/io/utf8.h"

namespace hanvit {
namespace {

namespace fs = std::filesystem;

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

// The reference writer orders tensors by dtype, larger types first, so data stays aligned.
int dtype_rank(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::i32:
      return 3;
    case DType::bf16:
      return 2;
    case DType::f16:
      return 1;
    case DType::u8:
      return 0;
  }
  throw std::logic_error("bad dtype");
}

void check_inputs(const std::string& what, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata) {
  auto fail = [&](const std::string& problem) { throw std::invalid_argument(what + ": " + problem); };
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (find_invalid_utf8(name) != std::string_view::npos) fail("tensor name is not valid UTF-8");
    if (name == "__metadata__") fail("tensor name '__metadata__' is reserved for the metadata");
    if (!seen.insert(name).second) fail("duplicate tensor name '" + name + "'");
    if (!tensor.defined()) fail("tensor '" + name + "' is undefined");
    if (tensor.device() != Device::cpu())
      fail("tensor '" + name + "' " + tensor.str() + " is on " + tensor.device().str() +
           "; only host tensors can be saved");
  }
  for (const auto& [key, value] : metadata)
    if (find_invalid_utf8(key) != std::string_view::npos || find_invalid_utf8(value) != std::string_view::npos)
      fail("metadata key or value is not valid UTF-8");
}

// Writes one file; the inputs are already checked.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int rank_a = dtype_rank(tensors[a].second.dtype()), rank_b = dtype_rank(tensors[b].second.dtype());
    return rank_a != rank_b ? rank_a > rank_b : tensors[a].first < tensors[b].first;
  });
  std::vector<std::pair<std::string, SafetensorsTensorInfo>> layout;
  layout.reserve(order.size());
  uint64_t offset = 0;
  for (size_t i : order) {
    const Tensor& tensor = tensors[i].second;
    SafetensorsTensorInfo info{tensor.dtype(), tensor.shape(), offset, offset + tensor.nbytes()};
    offset = info.end;
    layout.emplace_back(tensors[i].first, std::move(info));
  }
  std::string header = encode_safetensors_header(layout, metadata);
  if (header.size() > kSafetensorsMaxHeaderBytes)
    throw std::invalid_argument("save_safetensors '" + path + "': header of " + std::to_string(header.size()) +
                                " bytes exceeds the limit of " + std::to_string(kSafetensorsMaxHeaderBytes));

  write_file_atomically(path, [&](const WriteBytes& write) {
    uint8_t prefix[8];
    uint64_t length = header.size();
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<uint8_t>(length >> (8 * i));
    write(prefix, sizeof(prefix));
    write(header.data(), header.size());
    for (size_t i : order) {
      Tensor data = tensors[i].second.contiguous();
      if (data.nbytes() > 0) write(data.raw_data(), data.nbytes());
    }
  });
}

std::string shard_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

// Whether `name` is a shard file name as shard_name() writes it ('#' is a digit).
bool is_shard_name(std::string_view name) {
  constexpr std::string_view pattern = "model-#####-of-#####.safetensors";
  if (name.size() != pattern.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i)
    if (pattern[i] == '#' ? (name[i] < '0' || name[i] > '9') : name[i] != pattern[i]) return false;
  return true;
}

// Removes shard files in `dir` other than `keep`.
void remove_stale_shards(const fs::path& dir, const std::set<std::string>& keep) {
  std::vector<fs::path> stale;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (is_shard_name(name) && !keep.count(name)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) fs::remove(path);
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_inputs("save_safetensors '" + path + "'", tensors, metadata);
  write_safetensors(path, tensors, metadata);
}

void save_safetensors_sharded(const std::string& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                              const std::map<std::string, std::string>& metadata) {
  std::string what = "save_safetensors_sharded '" + dir + "'";
  if (max_shard_bytes == 0) throw std::invalid_argument(what + ": max_shard_bytes must be positive");
  check_inputs(what, tensors, metadata);

  std::vector<NamedTensors> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0;
  for (const auto& named : tensors) {
    uint64_t bytes = named.second.nbytes();
    if (!shards.back().empty() && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(named);
    shard_bytes += bytes;
    total_bytes += bytes;
  }

  fs::path folder(dir);
  fs::create_directories(folder);
  fs::path single = folder / kSafetensorsModelFile;
  fs::path index_path = folder / kSafetensorsIndexFile;
  if (shards.size() == 1) {
    write_safetensors(single.string(), shards[0], metadata);
    fs::remove(index_path);
    remove_stale_shards(folder, {});
    return;
  }

  nlohmann::json weight_map = nlohmann::json::object();
  std::set<std::string> written;
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = shard_name(i, shards.size());
    write_safetensors((folder / name).string(), shards[i], metadata);
    for (const auto& named : shards[i]) weight_map[named.first] = name;
    written.insert(name);
  }
  nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  std::string text = index.dump(2) + "\n";
  write_file_atomically(index_path.string(), [&](const WriteBytes& write) { write(text.data(), text.size()); });
  fs::remove(single);
  remove_stale_shards(folder, written);
}

}  // namespace hanvit
