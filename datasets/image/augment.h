// Training augmentations: random resized crop, colour jitter and a horizontal flip that keeps Korean captions true.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "datasets/image/resize.h"
#include "modules/random/rng.h"

namespace hanvit::data {

// torchvision's RandomResizedCrop: a crop of area fraction in [scale_min, scale_max] of the image and
// aspect ratio (w / h) log-uniform in [ratio_min, ratio_max], resized to size x size.
struct ResizedCropOptions {
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  Interpolation interpolation = Interpolation::bicubic;
};

// The crop rectangle (inside width x height): up to 10 draws of area and ratio until one fits, then a
// random position; if none fits, the largest centered crop whose ratio is clamped to the range.
// Throws std::invalid_argument for empty ranges or sizes.
cv::Rect sample_resized_crop(int width, int height, const ResizedCropOptions& options, Rng& rng);

// sample_resized_crop, then the antialiased resize of that region: CV_8UC3 (size, size, 3).
cv::Mat random_resized_crop(const cv::Mat& rgb, int size, const ResizedCropOptions& options, Rng& rng);

// Factors drawn uniformly from [max(0, 1 - x), 1 + x] for brightness, contrast and saturation x, and
// applied in an order drawn from the same RNG (as torchvision's ColorJitter): brightness scales the
// pixels, contrast blends with the mean gray level, saturation with each pixel's gray
// (gray = 0.299 R + 0.587 G + 0.114 B); results are rounded and clamped to [0, 255].
struct ColorJitterOptions {
  double brightness = 0.0, contrast = 0.0, saturation = 0.0;
};
void color_jitter(cv::Mat& rgb, const ColorJitterOptions& options, Rng& rng);

// Every 왼쪽 becomes 오른쪽 and every 오른쪽 becomes 왼쪽, in one left-to-right pass (so
// "왼쪽 위에 있고 … 오른쪽" becomes "오른쪽 위에 있고 … 왼쪽"). Throws on invalid UTF-8.
std::string flip_korean_positions(std::string_view text);

// What a horizontal flip may do to the sample's text; there is no default, the caller must choose.
enum class FlipText {
  swap_sides,          // rewrite 왼쪽 <-> 오른쪽 so the caption stays true of the mirrored image
  position_sensitive,  // the text cannot be rewritten (e.g. answers about sides): flipping is refused
};

class HorizontalFlip {
 public:
  // Throws std::invalid_argument when position_sensitive comes with a probability above 0 (the flip
  // would make the text false), or when probability is outside [0, 1].
  HorizontalFlip(FlipText text, double probability);

  // Draws one number from `rng` (always, so the stream does not depend on the outcome) and, with the
  // configured probability, mirrors `rgb` left-right and rewrites `text`. Returns whether it flipped.
  bool apply(cv::Mat& rgb, std::string& text, Rng& rng) const;

 private:
  FlipText text_;
  double probability_;
};

// A double uniform in [0, 1) from the top 53 bits of one draw.
double uniform01(Rng& rng);

}  // namespace hanvit::data
