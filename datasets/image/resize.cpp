// Antialiased separable resampling: per-axis fixed-point weights, one pass per axis over 8-bit RGB in Pillow's order.
#include "datasets/image/resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hanvit::data {
namespace {

// Weights are fixed point with 22 fraction bits: 8-bit samples times weights (whose absolute sum
// stays below 2 for these filters) plus the rounding half fit in int32.
constexpr int kPrecisionBits = 22;
constexpr int32_t kHalf = int32_t{1} << (kPrecisionBits - 1);

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5 (Catmull-Rom), support 2.
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// The weights of output pixels [out_first, out_first + out_count) of one axis.
struct AxisFilter {
  int taps = 0;                  // weights stored per output pixel (the longest span)
  std::vector<int> first;        // (out_count) first source index
  std::vector<int> count;        // (out_count) source pixels used
  std::vector<int32_t> weights;  // (out_count, taps) fixed point, zero past count
};

// Output pixel i covers source coordinates around center = (i + 0.5) * scale. When shrinking, the
// filter is stretched by the scale (support = filter support * scale) so that every source pixel
// contributes; the sampled weights are normalised to sum to 1 and then rounded to fixed point.
AxisFilter axis_filter(int in_size, int out_size, int out_first, int out_count, Interpolation interpolation) {
  const double support_1 = interpolation == Interpolation::bicubic ? 2.0 : 1.0;
  double (*filter)(double) = interpolation == Interpolation::bicubic ? bicubic : bilinear;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = support_1 * filter_scale;
  const double inverse_filter_scale = 1.0 / filter_scale;

  AxisFilter axis;
  axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_count);
  axis.count.resize(out_count);
  axis.weights.assign(static_cast<size_t>(out_count) * axis.taps, 0);
  std::vector<double> w(axis.taps);
  for (int i = 0; i < out_count; ++i) {
    const double center = (out_first + i + 0.5) * scale;
    // The span truncates toward zero after adding 0.5, as Pillow computes it (not lround).
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);        // NOLINT(bugprone-incorrect-roundings)
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);  // NOLINT(bugprone-incorrect-roundings)
    const int n = std::min(hi - lo, axis.taps);
    double sum = 0.0;
    for (int k = 0; k < n; ++k) {
      w[k] = filter((k + lo - center + 0.5) * inverse_filter_scale);
      sum += w[k];
    }
    int32_t* fixed = &axis.weights[static_cast<size_t>(i) * axis.taps];
    for (int k = 0; k < n; ++k) {
      const double normalised = sum != 0.0 ? w[k] / sum : w[k];
      const double scaled = normalised * (1 << kPrecisionBits);
      fixed[k] = static_cast<int32_t>(scaled < 0.0 ? scaled - 0.5 : scaled + 0.5);
    }
    axis.first[i] = lo;
    axis.count[i] = n;
  }
  return axis;
}

inline uint8_t clip8(int32_t accumulated) {
  const int32_t value = accumulated >> kPrecisionBits;
  return static_cast<uint8_t>(value < 0 ? 0 : value > 255 ? 255 : value);
}

// Along y: out(y, i) = sum_k src(axis.first[y] - row_base + k, col_first + i) * w_k; the inner loop runs
// over a contiguous row of samples.
void vertical_pass(const cv::Mat& src, int row_base, int col_first, const AxisFilter& axis, cv::Mat& out) {
  const int n = out.cols * 3;
  std::vector<int32_t> acc(n);
  for (int y = 0; y < out.rows; ++y) {
    std::fill(acc.begin(), acc.end(), kHalf);
    for (int k = 0; k < axis.count[y]; ++k) {
      const uint8_t* s = src.ptr<uint8_t>(axis.first[y] - row_base + k) + 3 * static_cast<size_t>(col_first);
      const int32_t w = axis.weights[static_cast<size_t>(y) * axis.taps + k];
      for (int i = 0; i < n; ++i) acc[i] += s[i] * w;
    }
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int i = 0; i < n; ++i) dst[i] = clip8(acc[i]);
  }
}

// Along x: out(r, x) = sum_k src(row_first + r, axis.first[x] - col_base + k) * w_k. Transposed, this
// is a pass along y, whose inner loop runs over contiguous samples and vectorises.
void horizontal_pass(const cv::Mat& src, int row_first, int col_base, const AxisFilter& axis, cv::Mat& out) {
  cv::Mat transposed, result(out.cols, out.rows, CV_8UC3);
  cv::transpose(src.rowRange(row_first, row_first + out.rows), transposed);  // (cols, rows, 3)
  vertical_pass(transposed, col_base, 0, axis, result);
  cv::transpose(result, out);
}

// The source range [first, end) an axis filter reads: spans start and end in increasing order.
std::pair<int, int> source_span(const AxisFilter& axis) {
  return {axis.first.front(), axis.first.back() + axis.count.back()};
}

}  // namespace

cv::Mat resize_antialiased(const cv::Mat& image, cv::Size out_size, Interpolation interpolation, cv::Rect window) {
  if (image.type() != CV_8UC3 || image.empty())
    throw std::invalid_argument("resize: expected a non-empty 8-bit 3-channel image");
  if (out_size.width <= 0 || out_size.height <= 0)
    throw std::invalid_argument("resize: output size " + std::to_string(out_size.width) + "x" +
                                std::to_string(out_size.height) + " is not positive");
  if (window.empty()) window = cv::Rect({0, 0}, out_size);
  if ((window & cv::Rect({0, 0}, out_size)) != window)
    throw std::invalid_argument("resize: window is not inside the output size");

  const AxisFilter columns = axis_filter(image.cols, out_size.width, window.x, window.width, interpolation);
  const AxisFilter rows = axis_filter(image.rows, out_size.height, window.y, window.height, interpolation);
  cv::Mat out(window.height, window.width, CV_8UC3);
  // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many pixels
  // as the width does (python-pillow/Pillow#9549); before that it always went horizontal first. The
  // 8-bit rounding between the passes makes the order visible, so follow it.
  const int shrink_x = image.cols - out_size.width, shrink_y = image.rows - out_size.height;
  if (shrink_y > 0 && shrink_y > 2 * std::max(shrink_x, 0)) {
    const auto [col_first, col_end] = source_span(columns);
    cv::Mat vertical(window.height, col_end - col_first, CV_8UC3);
    vertical_pass(image, 0, col_first, rows, vertical);
    horizontal_pass(vertical, 0, col_first, columns, out);
  } else {
    const auto [row_first, row_end] = source_span(rows);
    cv::Mat horizontal(row_end - row_first, window.width, CV_8UC3);
    horizontal_pass(image, row_first, 0, columns, horizontal);
    vertical_pass(horizontal, row_first, 0, rows, out);
  }
  return out;
}

}  // namespace hanvit::data
