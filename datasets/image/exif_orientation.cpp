// EXIF orientation: find the TIFF block in each container, read IFD0's orientation tag, and transpose pixels.
#include "datasets/image/exif_orientation.h"

#include <cstring>
#include <optional>
#include <stdexcept>

#include "datasets/image/byte_reader.h"

namespace hanvit::data {
namespace {

constexpr uint32_t kOrientationTag = 0x0112;
constexpr uint32_t kTiffShort = 3;

bool has_bytes(std::span<const uint8_t> bytes, size_t offset, const char* text, size_t n) {
  return offset <= bytes.size() && bytes.size() - offset >= n && std::memcmp(bytes.data() + offset, text, n) == 0;
}
bool has_text(std::span<const uint8_t> bytes, size_t offset, const char* text) {
  return has_bytes(bytes, offset, text, std::strlen(text));
}

// The orientation in a TIFF block ("II*\0" little-endian or "MM\0*" big-endian; IFD0 entries are
// tag (2), type (2), count (4), value (4)).
std::optional<int> tiff_orientation(std::span<const uint8_t> tiff) {
  const bool little = has_text(tiff, 0, "II");
  if (!little && !has_text(tiff, 0, "MM")) return std::nullopt;
  const auto u16 = [&](size_t at) { return little ? read_le16(tiff, at) : read_be16(tiff, at); };
  const auto u32 = [&](size_t at) { return little ? read_le32(tiff, at) : read_be32(tiff, at); };
  if (u16(2) != 42) return std::nullopt;
  const size_t ifd = u32(4);
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (u16(entry) == kOrientationTag && u16(entry + 2) == kTiffShort) return static_cast<int>(u16(entry + 8));
  }
  return std::nullopt;
}

// JPEG: the APP1 segment that starts with "Exif\0\0", before the first scan.
std::optional<std::span<const uint8_t>> jpeg_exif(std::span<const uint8_t> bytes) {
  size_t pos = 2;
  while (pos + 4 <= bytes.size() && bytes[pos] == 0xFF) {
    const uint8_t marker = bytes[pos + 1];
    if (marker == 0xDA || marker == 0xD9) break;
    if (marker == 0xFF) {
      ++pos;
      continue;
    }
    const size_t length = read_be16(bytes, pos + 2);
    if (marker == 0xE1 && has_bytes(bytes, pos + 4, "Exif\0\0", 6) && length >= 8) {
      require_bytes(bytes, pos + 10, length - 8);
      return bytes.subspan(pos + 10, length - 8);
    }
    pos += 2 + length;
  }
  return std::nullopt;
}

// PNG: the eXIf chunk (chunks are length (4, BE), type (4), data, CRC (4)).
std::optional<std::span<const uint8_t>> png_exif(std::span<const uint8_t> bytes) {
  size_t pos = 8;
  while (pos + 8 <= bytes.size()) {
    const size_t length = read_be32(bytes, pos);
    if (has_text(bytes, pos + 4, "eXIf")) {
      require_bytes(bytes, pos + 8, length);
      return bytes.subspan(pos + 8, length);
    }
    if (has_text(bytes, pos + 4, "IEND")) break;
    pos += 12 + length;
  }
  return std::nullopt;
}

// WebP: the RIFF chunk "EXIF" (chunks are fourcc (4), size (4, LE), data padded to an even size);
// some writers keep JPEG's "Exif\0\0" prefix.
std::optional<std::span<const uint8_t>> webp_exif(std::span<const uint8_t> bytes) {
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const size_t size = read_le32(bytes, pos + 4);
    if (has_text(bytes, pos, "EXIF")) {
      require_bytes(bytes, pos + 8, size);
      std::span<const uint8_t> data = bytes.subspan(pos + 8, size);
      if (has_bytes(data, 0, "Exif\0\0", 6)) data = data.subspan(6);
      return data;
    }
    pos += 8 + size + (size & 1);
  }
  return std::nullopt;
}

}  // namespace

int read_exif_orientation(std::span<const uint8_t> bytes, ImageFormat format) {
  try {
    std::optional<std::span<const uint8_t>> tiff;
    if (format == ImageFormat::jpeg) tiff = jpeg_exif(bytes);
    if (format == ImageFormat::png) tiff = png_exif(bytes);
    if (format == ImageFormat::webp) tiff = webp_exif(bytes);
    if (!tiff) return 1;
    const std::optional<int> orientation = tiff_orientation(*tiff);
    return orientation && *orientation >= 1 && *orientation <= 8 ? *orientation : 1;
  } catch (const std::out_of_range&) {  // a truncated EXIF block: the pixels are kept as stored
    return 1;
  }
}

cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::rotate(image, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    case 5:
      cv::transpose(image, out);
      break;
    case 6:
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7: {
      cv::Mat transposed;
      cv::transpose(image, transposed);
      cv::flip(transposed, out, -1);
      break;
    }
    case 8:
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      return image;
  }
  return out;
}

}  // namespace hanvit::data
