// Antialiased image resampling that reproduces PIL's Image.resize (BILINEAR, BICUBIC) bit for bit on 8-bit RGB.
#pragma once

#include <opencv2/core.hpp>

namespace hanvit::data {

enum class Interpolation { bilinear, bicubic };

// Resizes an 8-bit RGB image (H, W, 3) to out_size the way PIL does: a separable convolution whose
// support widens with the downscale factor (so downscaling averages every source pixel instead of
// sampling), weights normalised per output pixel and held in 22-bit fixed point, one pass per axis
// with the result rounded to 8 bits in between (horizontal first, unless the height shrinks by more
// than twice as many pixels as the width, as Pillow 13 orders them). Only the output pixels inside
// `window` (a rectangle of the out_size image; empty means all of it) are computed, so resize + crop
// costs only the crop. `image` may be a view (ROI) of a larger Mat. Returns CV_8UC3 of window's size.
cv::Mat resize_antialiased(const cv::Mat& image, cv::Size out_size, Interpolation interpolation, cv::Rect window = {});

}  // namespace hanvit::data
