// Safetensors checkpoints: zero-copy reading of files and model folders (single or sharded), atomic writing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "modules/io/mapped_file.h"
#include "modules/io/safetensors_header.h"
#include "modules/tensor/tensor.h"

namespace hanvit {

// Hugging Face file names inside a model folder.
inline constexpr const char* kSafetensorsModelFile = "model.safetensors";
inline constexpr const char* kSafetensorsIndexFile = "model.safetensors.index.json";

// One .safetensors file, memory-mapped read-only and fully validated when opened.
class SafetensorsFile {
 public:
  // Throws std::invalid_argument "safetensors '<path>': <problem>" for a malformed file and
  // std::runtime_error when the file cannot be opened or mapped.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return header_.tensors.count(name) != 0; }
  const SafetensorsTensorInfo& info(const std::string& name) const;
  // A contiguous host tensor over the mapped bytes (no copy); it keeps the mapping alive after
  // this object is gone. The pages are read-only: clone() a tensor before writing to it. A
  // tensor whose bytes are not aligned to its element size is copied into an aligned tensor.
  Tensor get(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

 private:
  std::shared_ptr<const MappedFile> file_;
  SafetensorsHeader header_;
};

// A model folder: `model.safetensors`, or else the shards listed by
// `model.safetensors.index.json` ({"metadata": {...}, "weight_map": {tensor: shard file}}).
// Every shard in the index is opened and validated, and must hold the tensors mapped to it;
// tensors a shard holds but the index does not list are not exposed.
class SafetensorsFolder {
 public:
  // Throws std::invalid_argument naming the folder, index or shard and the problem.
  explicit SafetensorsFolder(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  const SafetensorsTensorInfo& info(const std::string& name) const;
  Tensor get(const std::string& name) const;  // as SafetensorsFile::get
  // The "__metadata__" of model.safetensors, or the index's "metadata" with non-string values
  // as JSON text (e.g. "total_size" -> "1234").
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  void load_index(const std::string& index_path);
  size_t shard_index(const std::string& name) const;

  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> shard_of_;  // tensor name -> index into files_
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (host tensors, any strides) to `path` atomically: a temp file beside it is
// filled, fsynced and renamed over it, so on failure an existing `path` is left untouched.
// Tensors are stored sorted like the reference writer (F32, I32, BF16, F16, U8, then by name);
// the header is padded with spaces to a multiple of 8 bytes. Invalid input (undefined or device
// tensors, duplicate, reserved or non-UTF-8 names) throws std::invalid_argument before any file
// is created; OS errors throw std::runtime_error.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes a model folder (created if missing): `model.safetensors` when all tensor bytes fit in
// `max_shard_bytes`, else shards `model-00001-of-0000N.safetensors` (filled in the given order,
// a new shard starting when the next tensor would overflow the current one) and
// `model.safetensors.index.json` with "total_size". Every file is written atomically, the index
// after its shards; files of an earlier save that the new layout does not use (the single file,
// the index or other `model-XXXXX-of-YYYYY.safetensors` shards) are removed afterwards.
// `metadata` goes into every safetensors file.
void save_safetensors_sharded(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors,
                              uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata = {});

}  // namespace hanvit
