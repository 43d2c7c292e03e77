// The safetensors header: parsing with full validation of the file layout, and encoding for writers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "modules/tensor/dtype.h"
#include "modules/tensor/shape.h"

namespace hanvit {

// Headers longer than this are rejected, as by the reference implementation.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsTensorInfo {
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0;  // [begin, end): byte range inside the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::map<std::string, SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" object
  uint64_t data_start = 0;                      // file offset of the data section: 8 + header length
};

// Parses and validates the `size` bytes of a whole safetensors file at `bytes`: length prefix,
// UTF-8, JSON without duplicate keys, every tensor entry, and a data section covered by the tensors
// exactly (no overlaps, holes or trailing bytes). Never reads outside [bytes, bytes + size).
// Throws std::invalid_argument "safetensors '<path>': <problem>".
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& path);

// The header JSON for tensors in the given order ("__metadata__" first when not empty), compact
// like the reference writer and padded with spaces to a multiple of 8 bytes. The 8-byte length
// prefix is not included.
std::string encode_safetensors_header(const std::vector<std::pair<std::string, SafetensorsTensorInfo>>& tensors,
                                      const std::map<std::string, std::string>& metadata);

}  // namespace hanvit
