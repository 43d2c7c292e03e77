// Model input preprocessing: the presets, HF's shortest-edge size and center-crop offsets, padding, normalisation.
#include "datasets/image/preprocess.h"

#include <algorithm>
#include <stdexcept>

namespace hanvit::data {
namespace {

constexpr std::array<float, 3> kClipMean{0.48145466f, 0.4578275f, 0.40821073f};
constexpr std::array<float, 3> kClipStd{0.26862954f, 0.26130258f, 0.27577711f};
constexpr std::array<float, 3> kImagenetMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImagenetStd{0.229f, 0.224f, 0.225f};
constexpr std::array<float, 3> kHalf{0.5f, 0.5f, 0.5f};

std::array<uint8_t, 3> mean_colour(const std::array<float, 3>& mean) {
  std::array<uint8_t, 3> fill{};
  for (int c = 0; c < 3; ++c) fill[c] = static_cast<uint8_t>(static_cast<double>(mean[c]) * 255);
  return fill;
}

// transformers' get_resize_output_image_size(default_to_square=False): the short side becomes
// `size`, the long side int(size * long / short), truncated.
cv::Size shortest_edge_size(int width, int height, int size) {
  const int short_side = std::min(width, height), long_side = std::max(width, height);
  const int new_long = static_cast<int>(static_cast<double>(int64_t{size} * long_side) / short_side);
  return width <= height ? cv::Size(size, new_long) : cv::Size(new_long, size);
}

// A centered square canvas of side max(w, h) filled with `fill`, the image pasted at offset (side - w) // 2.
cv::Mat pad_to_square(const cv::Mat& rgb, const std::array<uint8_t, 3>& fill) {
  const int side = std::max(rgb.cols, rgb.rows);
  if (rgb.cols == rgb.rows) return rgb;
  cv::Mat square(side, side, CV_8UC3, cv::Scalar(fill[0], fill[1], fill[2]));
  rgb.copyTo(square(cv::Rect((side - rgb.cols) / 2, (side - rgb.rows) / 2, rgb.cols, rgb.rows)));
  return square;
}

void check_options(const cv::Mat& rgb, const PreprocessOptions& options) {
  if (rgb.type() != CV_8UC3 || rgb.empty())
    throw std::invalid_argument("preprocess: expected a non-empty 8-bit RGB image");
  if (options.size <= 0)
    throw std::invalid_argument("preprocess: size " + std::to_string(options.size) + " is not positive");
  if (options.mode == ResizeMode::shortest_edge_crop && (options.crop <= 0 || options.crop > options.size))
    throw std::invalid_argument("preprocess: crop " + std::to_string(options.crop) + " must be in [1, size " +
                                std::to_string(options.size) + "]");
  for (float s : options.std)
    if (!(s > 0.0f)) throw std::invalid_argument("preprocess: std values must be positive");
}

}  // namespace

PreprocessOptions preprocess_preset(const std::string& name) {
  PreprocessOptions options;
  if (name == "clip") {
    options.mode = ResizeMode::shortest_edge_crop;
    options.interpolation = Interpolation::bicubic;
    options.mean = kClipMean;
    options.std = kClipStd;
  } else if (name == "siglip") {
    options.interpolation = Interpolation::bicubic;
    options.mean = kHalf;
    options.std = kHalf;
  } else if (name == "vit") {
    options.interpolation = Interpolation::bilinear;
    options.mean = kHalf;
    options.std = kHalf;
  } else if (name == "imagenet") {
    options.mode = ResizeMode::shortest_edge_crop;
    options.size = 256;
    options.interpolation = Interpolation::bilinear;
    options.mean = kImagenetMean;
    options.std = kImagenetStd;
  } else if (name == "plain") {
    options.interpolation = Interpolation::bilinear;
  } else {
    throw std::invalid_argument("unknown preprocessing preset '" + name +
                                "' (known: clip, siglip, vit, imagenet, plain)");
  }
  options.pad_fill = mean_colour(options.mean);
  return options;
}

cv::Mat resize_for_model(const cv::Mat& rgb, const PreprocessOptions& options) {
  check_options(rgb, options);
  const cv::Size square(options.size, options.size);
  switch (options.mode) {
    case ResizeMode::shortest_edge_crop: {
      const cv::Size resized = shortest_edge_size(rgb.cols, rgb.rows, options.size);
      // transformers' center_crop: top = (h - crop) // 2, left = (w - crop) // 2.
      const cv::Rect crop((resized.width - options.crop) / 2, (resized.height - options.crop) / 2, options.crop,
                          options.crop);
      return resize_antialiased(rgb, resized, options.interpolation, crop);
    }
    case ResizeMode::squash:
      return resize_antialiased(rgb, square, options.interpolation);
    case ResizeMode::pad_square:
      return resize_antialiased(pad_to_square(rgb, options.pad_fill), square, options.interpolation);
  }
  throw std::invalid_argument("preprocess: unknown resize mode");
}

Tensor normalise(const cv::Mat& rgb, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  if (rgb.type() != CV_8UC3) throw std::invalid_argument("normalise: expected an 8-bit RGB image");
  // One table per channel: the 256 possible results, computed as HF does (float64 x * (1/255) -> f32,
  // then (x - mean) / std in f32).
  std::array<std::array<float, 256>, 3> table;
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) table[c][v] = (static_cast<float>(v * (1.0 / 255.0)) - mean[c]) / std[c];
  const int h = rgb.rows, w = rgb.cols;
  Tensor out = Tensor::empty({3, h, w}, DType::f32);  // (3, H, W)
  float* planes = out.data<float>();
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = rgb.ptr<uint8_t>(y);
    for (int c = 0; c < 3; ++c) {
      float* dst = planes + (static_cast<size_t>(c) * h + y) * w;
      for (int x = 0; x < w; ++x) dst[x] = table[c][src[3 * x + c]];
    }
  }
  return out;
}

Tensor preprocess(const cv::Mat& rgb, const PreprocessOptions& options) {
  return normalise(resize_for_model(rgb, options), options.mean, options.std);
}

}  // namespace hanvit::data
