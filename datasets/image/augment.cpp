// Training augmentations: crop sampling like torchvision, colour jitter on 8-bit RGB, flip with caption side swap.
#include "datasets/image/augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "datasets/text/utf8.h"

namespace hanvit::data {
namespace {

double uniform(Rng& rng, double low, double high) { return low + (high - low) * uniform01(rng); }

uint8_t saturate(double value) { return static_cast<uint8_t>(std::clamp(std::round(value), 0.0, 255.0)); }

double gray_of(const uint8_t* p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

void scale_brightness(cv::Mat& rgb, double factor) {
  for (int y = 0; y < rgb.rows; ++y) {
    uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int i = 0; i < rgb.cols * 3; ++i) p[i] = saturate(p[i] * factor);
  }
}

void blend_contrast(cv::Mat& rgb, double factor) {
  double sum = 0.0;
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x) sum += gray_of(p + 3 * static_cast<size_t>(x));
  }
  const double mean = sum / (static_cast<double>(rgb.rows) * rgb.cols);
  for (int y = 0; y < rgb.rows; ++y) {
    uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int i = 0; i < rgb.cols * 3; ++i) p[i] = saturate(factor * p[i] + (1.0 - factor) * mean);
  }
}

void blend_saturation(cv::Mat& rgb, double factor) {
  for (int y = 0; y < rgb.rows; ++y) {
    uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x, p += 3) {
      const double gray = gray_of(p);
      for (int c = 0; c < 3; ++c) p[c] = saturate(factor * p[c] + (1.0 - factor) * gray);
    }
  }
}

}  // namespace

double uniform01(Rng& rng) { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; }

cv::Rect sample_resized_crop(int width, int height, const ResizedCropOptions& options, Rng& rng) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("random resized crop: empty image");
  if (!(options.scale_min > 0.0 && options.scale_min <= options.scale_max && options.scale_max <= 1.0))
    throw std::invalid_argument("random resized crop: scale range must satisfy 0 < min <= max <= 1");
  if (!(options.ratio_min > 0.0 && options.ratio_min <= options.ratio_max))
    throw std::invalid_argument("random resized crop: ratio range must satisfy 0 < min <= max");
  const double area = static_cast<double>(width) * height;
  const double log_min = std::log(options.ratio_min), log_max = std::log(options.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * uniform(rng, options.scale_min, options.scale_max);
    const double ratio = std::exp(uniform(rng, log_min, log_max));
    const int w = static_cast<int>(std::round(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::round(std::sqrt(target_area / ratio)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = rng.between(0, height - h);
      const int left = rng.between(0, width - w);
      return {left, top, w, h};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < options.ratio_min)
    h = std::max(1, static_cast<int>(std::round(w / options.ratio_min)));
  else if (in_ratio > options.ratio_max)
    w = std::max(1, static_cast<int>(std::round(h * options.ratio_max)));
  return {(width - w) / 2, (height - h) / 2, w, h};
}

cv::Mat random_resized_crop(const cv::Mat& rgb, int size, const ResizedCropOptions& options, Rng& rng) {
  if (size <= 0) throw std::invalid_argument("random resized crop: size " + std::to_string(size) + " is not positive");
  const cv::Rect box = sample_resized_crop(rgb.cols, rgb.rows, options, rng);
  return resize_antialiased(rgb(box), {size, size}, options.interpolation);
}

void color_jitter(cv::Mat& rgb, const ColorJitterOptions& options, Rng& rng) {
  if (rgb.type() != CV_8UC3) throw std::invalid_argument("color jitter: expected an 8-bit RGB image");
  for (double x : {options.brightness, options.contrast, options.saturation})
    if (!(x >= 0.0)) throw std::invalid_argument("color jitter: strengths must be >= 0");
  std::array<int, 3> order{0, 1, 2};
  for (int i = 2; i > 0; --i) std::swap(order[i], order[rng.between(0, i)]);  // Fisher-Yates
  const std::array<double, 3> strength{options.brightness, options.contrast, options.saturation};
  std::array<double, 3> factor{};
  for (int i = 0; i < 3; ++i) factor[i] = uniform(rng, std::max(0.0, 1.0 - strength[i]), 1.0 + strength[i]);
  for (int which : order) {
    if (strength[which] == 0.0) continue;
    if (which == 0) scale_brightness(rgb, factor[0]);
    if (which == 1) blend_contrast(rgb, factor[1]);
    if (which == 2) blend_saturation(rgb, factor[2]);
  }
}

std::string flip_korean_positions(std::string_view text) {
  text::require_valid_utf8(text, "flip text");
  static constexpr std::string_view kLeft = "왼쪽", kRight = "오른쪽";
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with(kLeft)) {
      out += kRight;
      i += kLeft.size();
    } else if (text.substr(i).starts_with(kRight)) {
      out += kLeft;
      i += kRight.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

HorizontalFlip::HorizontalFlip(FlipText text, double probability) : text_(text), probability_(probability) {
  if (!(probability >= 0.0 && probability <= 1.0))
    throw std::invalid_argument("horizontal flip: probability " + std::to_string(probability) + " is not in [0, 1]");
  if (text == FlipText::position_sensitive && probability > 0.0)
    throw std::invalid_argument(
        "horizontal flip refused: the text is position-sensitive and cannot be rewritten (use probability 0, or "
        "swap_sides for captions that name 왼쪽/오른쪽)");
}

bool HorizontalFlip::apply(cv::Mat& rgb, std::string& text, Rng& rng) const {
  if (uniform01(rng) >= probability_) return false;
  if (text_ == FlipText::swap_sides) text = flip_korean_positions(text);
  cv::Mat mirrored;
  cv::flip(rgb, mirrored, 1);
  rgb = mirrored;
  return true;
}

}  // namespace hanvit::data
