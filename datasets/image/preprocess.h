// Model input preprocessing: resize (shortest edge + center crop, squash, or pad to square), rescale, normalise.
#pragma once

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "datasets/image/resize.h"
#include "modules/tensor/tensor.h"

namespace hanvit::data {

enum class ResizeMode {
  shortest_edge_crop,  // shortest edge to `size` (aspect kept), then a center crop of crop x crop
  squash,              // straight to size x size (aspect not kept)
  pad_square,          // pad to a centered square with pad_fill, then to size x size
};

struct PreprocessOptions {
  int size = 224;  // the shortest edge (shortest_edge_crop) or the side of the square output
  int crop = 224;  // the center-crop side, shortest_edge_crop only (crop <= size)
  ResizeMode mode = ResizeMode::squash;
  Interpolation interpolation = Interpolation::bicubic;
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};  // per RGB channel, in [0, 1] units
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  std::array<uint8_t, 3> pad_fill{0, 0, 0};  // RGB background of pad_square
};

// The presets, each equal to its Hugging Face processor's defaults (slow PIL path):
//   clip      CLIPImageProcessor: shortest edge 224 bicubic, center crop 224, OpenAI CLIP mean/std
//   siglip    SiglipImageProcessor: 224x224 bicubic, mean = std = 0.5
//   vit       ViTImageProcessor: 224x224 bilinear, mean = std = 0.5
//   imagenet  torchvision's ImageNet evaluation: shortest edge 256 bilinear, center crop 224, ImageNet mean/std
//   plain     224x224 bilinear, values in [0, 1] (mean 0, std 1)
// pad_fill defaults to the mean in 8 bits (truncated, as LLaVA's expand2square does).
// Throws std::invalid_argument naming an unknown preset and listing the known ones.
PreprocessOptions preprocess_preset(const std::string& name);

// The 8-bit RGB model input before normalising: (out_h, out_w, 3), i.e. crop x crop for
// shortest_edge_crop and size x size otherwise. Throws std::invalid_argument for bad options.
cv::Mat resize_for_model(const cv::Mat& rgb, const PreprocessOptions& options);

// resize_for_model, then x / 255 (in double, stored as f32) and (x - mean) / std in f32, exactly as
// the Hugging Face PIL backend computes it. Returns f32 (3, out_h, out_w), channels RGB.
Tensor preprocess(const cv::Mat& rgb, const PreprocessOptions& options);

// The normalisation alone on an 8-bit RGB image (H, W, 3) -> f32 (3, H, W).
Tensor normalise(const cv::Mat& rgb, const std::array<float, 3>& mean, const std::array<float, 3>& std);

}  // namespace hanvit::data
