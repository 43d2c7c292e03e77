// Image container headers: the format and pixel size of PNG, JPEG, WebP and BMP data, read without decoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace hanvit::data {

enum class ImageFormat { png, jpeg, webp, bmp };

const char* image_format_name(ImageFormat format);  // "PNG", "JPEG", "WebP", "BMP"

struct ImageHeader {
  ImageFormat format;
  uint32_t width = 0, height = 0;
};

// Reads the signature and the size fields (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X, BMP DIB header).
// Throws std::invalid_argument "image '<name>': <problem>" for empty data, an unknown signature, or a
// header that is truncated or declares a zero size.
ImageHeader read_image_header(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace hanvit::data
