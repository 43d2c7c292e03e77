// Safetensors header parsing (length prefix, strict JSON, entries, layout) and encoding.
#include "modules/io/safetensors_header.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "modules/io/json_strict.h"

namespace hanvit {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::invalid_argument("safetensors '" + path + "': " + problem);
}

// A JSON value for an error message, cut short when long.
std::string brief(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

std::string range_str(uint64_t begin, uint64_t end) {
  return std::string("[").append(std::to_string(begin)).append(", ").append(std::to_string(end)).append(")");
}

std::optional<DType> safetensors_dtype(std::string_view text) {
  for (DType dtype : {DType::f32, DType::bf16, DType::f16, DType::i32, DType::u8})
    if (dtype_safetensors_name(dtype) == text) return dtype;
  return std::nullopt;
}

// A JSON integer in [0, limit], or nothing.
bool read_count(const json& value, uint64_t limit, uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<uint64_t>();
  } else if (value.is_number_integer()) {
    int64_t signed_value = value.get<int64_t>();
    if (signed_value < 0) return false;
    out = static_cast<uint64_t>(signed_value);
  } else {
    return false;
  }
  return out <= limit;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "'__metadata__' is not an object but " + brief(value));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) fail(path, "'__metadata__' value of key '" + key + "' is not a string but " + brief(item));
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

SafetensorsTensorInfo parse_entry(const std::string& name, const json& entry, uint64_t data_bytes,
                                  const std::string& path) {
  std::string where = "tensor '" + name + "': ";
  if (!entry.is_object()) fail(path, where + "entry is not an object but " + brief(entry));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) fail(path, where + "missing field '" + field + "'");

  SafetensorsTensorInfo info;
  const json& dtype = entry.at("dtype");
  if (!dtype.is_string()) fail(path, where + "field 'dtype' is not a string but " + brief(dtype));
  const std::string dtype_text = dtype.get<std::string>();
  std::optional<DType> parsed_dtype = safetensors_dtype(dtype_text);
  if (!parsed_dtype)
    fail(path, where + "unknown or unsupported dtype '" + dtype_text + "' (supported: F32, BF16, F16, I32, U8)");
  info.dtype = *parsed_dtype;

  const json& shape = entry.at("shape");
  if (!shape.is_array()) fail(path, where + "field 'shape' is not an array but " + brief(shape));
  // The product of the non-zero dims must fit int64, so that no partial product taken by
  // numel() or contiguous_strides() overflows.
  uint64_t nonzero_product = 1;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    uint64_t dim = 0;
    if (!read_count(shape[i], static_cast<uint64_t>(INT64_MAX), dim))
      fail(path, where + "shape dim " + std::to_string(i) + " is not a non-negative integer but " + brief(shape[i]));
    info.shape.push_back(static_cast<int64_t>(dim));
    empty = empty || dim == 0;
    if (dim != 0 && (__builtin_mul_overflow(nonzero_product, dim, &nonzero_product) ||
                     nonzero_product > static_cast<uint64_t>(INT64_MAX)))
      fail(path, where + "shape " + brief(shape) + " has too many elements");
  }
  uint64_t bytes = 0;
  if (!empty && __builtin_mul_overflow(nonzero_product, dtype_size(info.dtype), &bytes))
    fail(path, where + "shape " + shape_str(info.shape) + " has too many bytes");

  const json& offsets = entry.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !read_count(offsets[0], UINT64_MAX, info.begin) ||
      !read_count(offsets[1], UINT64_MAX, info.end))
    fail(path, where + "field 'data_offsets' is not an array of 2 non-negative integers but " + brief(offsets));
  if (info.begin > info.end)
    fail(path, where + "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                   "] begin after they end");
  if (info.end - info.begin != bytes)
    fail(path, where + "shape " + shape_str(info.shape) + " of " + dtype_text + " needs " + std::to_string(bytes) +
                   " bytes but data_offsets " + range_str(info.begin, info.end) + " hold " +
                   std::to_string(info.end - info.begin));
  if (info.end > data_bytes)
    fail(path, where + "data_offsets " + range_str(info.begin, info.end) + " run past the end of the data section (" +
                   std::to_string(data_bytes) + " bytes; is the file truncated?)");
  return info;
}

// The tensors must tile the data section exactly: sorted by offsets, each begins where the
// previous one ended and the last ends at the end of the file.
void check_layout(const std::map<std::string, SafetensorsTensorInfo>& tensors, uint64_t data_bytes,
                  const std::string& path) {
  std::vector<std::pair<const std::string*, const SafetensorsTensorInfo*>> order;
  order.reserve(tensors.size());
  for (const auto& [name, info] : tensors) order.emplace_back(&name, &info);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
  });
  uint64_t covered = 0;
  const std::string* last = nullptr;
  const SafetensorsTensorInfo* last_info = nullptr;
  for (const auto& [name, info] : order) {
    if (info->begin < covered)
      fail(path, "tensors '" + *last + "' " + range_str(last_info->begin, last_info->end) + " and '" + *name + "' " +
                     range_str(info->begin, info->end) + " overlap");
    if (info->begin > covered)
      fail(path, "bytes " + range_str(covered, info->begin) +
                     " of the data section belong to no tensor (a hole before tensor '" + *name + "')");
    covered = info->end;
    last = name;
    last_info = info;
  }
  if (covered != data_bytes)
    fail(path, std::to_string(data_bytes - covered) +
                   " trailing bytes after the last tensor's data (the data section is " + std::to_string(data_bytes) +
                   " bytes, the tensors cover " + std::to_string(covered) + ")");
}

}  // namespace

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& path) {
  if (size < 8) fail(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | bytes[i];
  if (length > kSafetensorsMaxHeaderBytes)
    fail(path, "header length " + std::to_string(length) + " exceeds the limit of " +
                   std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
  if (length > size - 8)
    fail(path, "header length " + std::to_string(length) + " runs past the end of the file (" + std::to_string(size) +
                   " bytes)");

  std::string_view text(reinterpret_cast<const char*>(bytes + 8), static_cast<size_t>(length));
  json root = parse_json_strict(text, "safetensors '" + path + "': header");
  if (!root.is_object()) fail(path, "header is not a JSON object but " + brief(root));

  SafetensorsHeader header;
  header.data_start = 8 + length;
  uint64_t data_bytes = size - header.data_start;
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__")
      header.metadata = parse_metadata(entry, path);
    else
      header.tensors.emplace(name, parse_entry(name, entry, data_bytes, path));
  }
  check_layout(header.tensors, data_bytes, path);
  return header;
}

std::string encode_safetensors_header(const std::vector<std::pair<std::string, SafetensorsTensorInfo>>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& [name, info] : tensors) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype_safetensors_name(info.dtype);
    entry["shape"] = info.shape;
    entry["data_offsets"] = {info.begin, info.end};
    header[name] = std::move(entry);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace hanvit
