// SafetensorsFile: maps a file, validates its header and hands out zero-copy tensors.
#include <bit>
#include <cstring>
#include <stdexcept>

#include "modules/io/safetensors.h"

namespace hanvit {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(MappedFile::open(path)), header_(parse_safetensors_header(file_->data(), file_->size(), path)) {}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(header_.tensors.size());
  for (const auto& [name, info] : header_.tensors) names.push_back(name);
  return names;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto found = header_.tensors.find(name);
  if (found == header_.tensors.end())
    throw std::invalid_argument("safetensors '" + path() + "': no tensor named '" + name + "'");
  return found->second;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const SafetensorsTensorInfo& meta = info(name);
  const uint8_t* bytes = file_->data() + header_.data_start + meta.begin;
  size_t nbytes = static_cast<size_t>(meta.end - meta.begin);
  if (reinterpret_cast<uintptr_t>(bytes) % dtype_size(meta.dtype) != 0) {
    Tensor aligned = Tensor::empty(meta.shape, meta.dtype);
    if (nbytes > 0) std::memcpy(aligned.raw_data(), bytes, nbytes);
    return aligned;
  }
  auto storage = Storage::wrap(const_cast<uint8_t*>(bytes), nbytes, Device::cpu(), [mapping = file_] {});
  return Tensor(std::move(storage), meta.shape, meta.dtype);
}

}  // namespace hanvit
