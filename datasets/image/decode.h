// Image decoding: JPEG/PNG/WebP/BMP file or bytes -> 8-bit RGB cv::Mat, with a pixel cap checked before decoding.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <span>
#include <string>

namespace hanvit::data {

inline constexpr uint64_t kDefaultMaxPixels = uint64_t{64} << 20;  // 64 Mpx

struct DecodeOptions {
  // Images whose header declares more pixels are refused before any pixel memory is allocated.
  uint64_t max_pixels = kDefaultMaxPixels;
  // Rotate/mirror as the EXIF orientation tag says, as transformers.image_utils.load_image does
  // (PIL.ImageOps.exif_transpose). Off: the pixels as stored, like a bare PIL.Image.open; note that
  // Hugging Face image processors never apply the tag themselves.
  bool apply_exif_orientation = true;
};

// Decodes an image to CV_8UC3 in RGB order (H, W, 3), converting like PIL's convert("RGB"):
// gray is replicated, alpha is dropped (not blended), 16-bit gray is clipped to 255 and 16-bit
// colour keeps its high byte. `name` (a file path or a caller's label) is in every error.
// Throws std::invalid_argument "image '<name>': <problem>" for empty, unknown-format, oversized,
// corrupt or truncated data.
cv::Mat decode_image(std::span<const uint8_t> bytes, const std::string& name, const DecodeOptions& options = {});

// Reads and decodes a file; a file that cannot be read throws std::runtime_error naming it.
cv::Mat decode_image_file(const std::string& path, const DecodeOptions& options = {});

}  // namespace hanvit::data
