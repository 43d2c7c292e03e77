// Image container headers: signature checks and the few bytes of each format that hold width and height.
#include "datasets/image/image_header.h"

#include <cstring>
#include <stdexcept>

#include "datasets/image/byte_reader.h"

namespace hanvit::data {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw std::invalid_argument("image '" + name + "': " + problem);
}

bool starts_with(std::span<const uint8_t> bytes, size_t offset, const char* text) {
  const size_t n = std::strlen(text);
  return bytes.size() >= offset + n && std::memcmp(bytes.data() + offset, text, n) == 0;
}

// JPEG start-of-frame markers (SOF0..SOF15 without DHT C4, JPG C8 and DAC CC) carry the frame size.
bool is_start_of_frame(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

ImageHeader read_png(std::span<const uint8_t> bytes, const std::string& name) {
  // Signature (8), then the first chunk: length (4), "IHDR", width (4, BE), height (4, BE).
  if (bytes.size() < 24 || !starts_with(bytes, 12, "IHDR")) fail(name, "truncated or malformed PNG header");
  return {ImageFormat::png, read_be32(bytes, 16), read_be32(bytes, 20)};
}

ImageHeader read_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  size_t pos = 2;
  while (true) {
    while (pos < bytes.size() && bytes[pos] == 0xFF && pos + 1 < bytes.size() && bytes[pos + 1] == 0xFF) ++pos;
    if (pos + 4 > bytes.size()) fail(name, "truncated JPEG data before the frame header");
    if (bytes[pos] != 0xFF) fail(name, "malformed JPEG marker at byte " + std::to_string(pos));
    const uint8_t marker = bytes[pos + 1];
    if (marker == 0xDA || marker == 0xD9) fail(name, "JPEG data without a frame header");
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without a length
      pos += 2;
      continue;
    }
    const size_t length = read_be16(bytes, pos + 2);
    if (length < 2) fail(name, "malformed JPEG segment length at byte " + std::to_string(pos));
    if (is_start_of_frame(marker)) {
      // Segment: length (2), precision (1), height (2), width (2).
      if (pos + 9 > bytes.size()) fail(name, "truncated JPEG frame header");
      return {ImageFormat::jpeg, read_be16(bytes, pos + 7), read_be16(bytes, pos + 5)};
    }
    pos += 2 + length;
  }
}

ImageHeader read_webp(std::span<const uint8_t> bytes, const std::string& name) {
  // "RIFF" size "WEBP", then the first chunk: fourcc (4), size (4, LE), data from byte 20.
  if (bytes.size() < 30) fail(name, "truncated WebP header");
  if (starts_with(bytes, 12, "VP8 ")) {  // lossy: frame tag (3), start code 9D 01 2A, 14-bit sizes
    if (bytes[23] != 0x9D || bytes[24] != 0x01 || bytes[25] != 0x2A) fail(name, "malformed WebP VP8 frame header");
    return {ImageFormat::webp, read_le16(bytes, 26) & 0x3FFFu, read_le16(bytes, 28) & 0x3FFFu};
  }
  if (starts_with(bytes, 12, "VP8L")) {  // lossless: signature 0x2F, then 14-bit width-1 and height-1
    if (bytes[20] != 0x2F) fail(name, "malformed WebP VP8L header");
    const uint32_t bits = read_le32(bytes, 21);
    return {ImageFormat::webp, (bits & 0x3FFFu) + 1, ((bits >> 14) & 0x3FFFu) + 1};
  }
  if (starts_with(bytes, 12, "VP8X")) {  // extended: flags (4), 24-bit canvas width-1 and height-1
    return {ImageFormat::webp, read_le24(bytes, 24) + 1, read_le24(bytes, 27) + 1};
  }
  fail(name, "unknown WebP chunk '" + std::string(reinterpret_cast<const char*>(bytes.data()) + 12, 4) + "'");
}

ImageHeader read_bmp(std::span<const uint8_t> bytes, const std::string& name) {
  // File header (14), then the DIB header: its size (4), then the sizes.
  if (bytes.size() < 26) fail(name, "truncated BMP header");
  const uint32_t dib_size = read_le32(bytes, 14);
  if (dib_size == 12) return {ImageFormat::bmp, read_le16(bytes, 18), read_le16(bytes, 20)};  // OS/2 core header
  const auto width = static_cast<int32_t>(read_le32(bytes, 18));
  const auto height = static_cast<int32_t>(read_le32(bytes, 22));  // negative: rows stored top-down
  if (width <= 0 || height == INT32_MIN) fail(name, "malformed BMP size");
  return {ImageFormat::bmp, static_cast<uint32_t>(width), static_cast<uint32_t>(height < 0 ? -height : height)};
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::webp:
      return "WebP";
    case ImageFormat::bmp:
      return "BMP";
  }
  return "?";
}

ImageHeader read_image_header(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "empty file");
  ImageHeader header{};
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1a\n"))
    header = read_png(bytes, name);
  else if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
    header = read_jpeg(bytes, name);
  else if (starts_with(bytes, 0, "RIFF") && starts_with(bytes, 8, "WEBP"))
    header = read_webp(bytes, name);
  else if (starts_with(bytes, 0, "BM"))
    header = read_bmp(bytes, name);
  else
    fail(name, "unknown image format (not PNG, JPEG, WebP or BMP)");
  if (header.width == 0 || header.height == 0)
    fail(name, std::string(image_format_name(header.format)) + " header declares a zero size");
  return header;
}

}  // namespace hanvit::data
