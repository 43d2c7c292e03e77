// EXIF orientation: the tag 0x0112 of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk), and the transpose it asks for.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <span>

#include "datasets/image/image_header.h"

namespace hanvit::data {

// The orientation value 1..8 stored in the image's EXIF block; 1 (as stored) when there is none or
// it is malformed or out of range.
int read_exif_orientation(std::span<const uint8_t> bytes, ImageFormat format);

// The image as it is meant to be displayed, like PIL's ImageOps.exif_transpose:
// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation);

}  // namespace hanvit::data
