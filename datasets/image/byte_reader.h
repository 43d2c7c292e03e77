// Bounds-checked little- and big-endian integer reads from a byte span (for the container parsers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace hanvit::data {

// Throws std::out_of_range when [offset, offset + size) is not inside bytes.
inline void require_bytes(std::span<const uint8_t> bytes, size_t offset, size_t size) {
  if (offset > bytes.size() || size > bytes.size() - offset) throw std::out_of_range("read past the end of the data");
}

inline uint32_t read_be16(std::span<const uint8_t> b, size_t at) {
  require_bytes(b, at, 2);
  return (uint32_t{b[at]} << 8) | b[at + 1];
}
inline uint32_t read_be32(std::span<const uint8_t> b, size_t at) {
  require_bytes(b, at, 4);
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
}
inline uint32_t read_le16(std::span<const uint8_t> b, size_t at) {
  require_bytes(b, at, 2);
  return b[at] | (uint32_t{b[at + 1]} << 8);
}
inline uint32_t read_le24(std::span<const uint8_t> b, size_t at) {
  require_bytes(b, at, 3);
  return b[at] | (uint32_t{b[at + 1]} << 8) | (uint32_t{b[at + 2]} << 16);
}
inline uint32_t read_le32(std::span<const uint8_t> b, size_t at) {
  require_bytes(b, at, 4);
  return b[at] | (uint32_t{b[at + 1]} << 8) | (uint32_t{b[at + 2]} << 16) | (uint32_t{b[at + 3]} << 24);
}

}  // namespace hanvit::data
