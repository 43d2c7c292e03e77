// JPEG decoding straight through libjpeg(-turbo) into RGB: the same library and defaults as OpenCV and
// PIL use (so the same pixels), without OpenCV 4.6's slow per-pixel channel swap.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <opencv2/core.hpp>

namespace hanvit::data {

// An 8-bit image of the JPEG in `bytes`: (H, W) gray for a gray JPEG, (H, W, 3) RGB for YCbCr and
// RGB ones; nullopt for CMYK / YCCK, which the caller decodes otherwise. Corrupt data throws
// std::invalid_argument "image '<name>': corrupt JPEG data (<libjpeg's message>)".
std::optional<cv::Mat> decode_jpeg(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace hanvit::data
