// Drawing the per-word cross-attention heat maps into one PNG.
#include "apps/model/attention_map.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "datasets/image/korean_text.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace {

constexpr int kTile = 160, kLabel = 30, kGap = 6, kPerRow = 6, kFontHeight = 18;

cv::Mat heat_tile(const cv::Mat& image_bgr, int grid, const std::vector<float>& patches) {
  cv::Mat weights(grid, grid, CV_32F);
  std::copy(patches.begin(), patches.end(), weights.ptr<float>());
  double low = 0.0, high = 0.0;
  cv::minMaxLoc(weights, &low, &high);
  weights = (weights - low) / std::max(high - low, 1e-12);
  cv::Mat smooth, heat8, heat;
  cv::resize(weights, smooth, {kTile, kTile}, 0, 0, cv::INTER_CUBIC);
  smooth.convertTo(heat8, CV_8U, 255.0);
  cv::applyColorMap(heat8, heat, cv::COLORMAP_JET);
  cv::Mat tile;
  cv::addWeighted(image_bgr, 0.5, heat, 0.5, 0.0, tile);
  return tile;
}

}  // namespace

void write_attention_map(const std::string& path, const cv::Mat& rgb, int grid, const std::vector<WordAttention>& words) {
  cv::Mat image_bgr;
  cv::resize(rgb, image_bgr, {kTile, kTile}, 0, 0, cv::INTER_AREA);
  cv::cvtColor(image_bgr, image_bgr, cv::COLOR_RGB2BGR);
  const int columns = std::min<int>(kPerRow, static_cast<int>(words.size()) + 1);
  const int rows = (static_cast<int>(words.size()) + 1 + columns - 1) / columns;
  cv::Mat sheet(rows * (kTile + kLabel + kGap) + kGap, columns * (kTile + kGap) + kGap, CV_8UC3,
                cv::Scalar(255, 255, 255));
  const data::KoreanTextRenderer text;
  auto place = [&](int index, const cv::Mat& tile, const std::string& label) {
    const int x = kGap + (index % columns) * (kTile + kGap), y = kGap + (index / columns) * (kTile + kLabel + kGap);
    tile.copyTo(sheet(cv::Rect(x, y, kTile, kTile)));
    const std::string shown = text.fit(label, kFontHeight, kTile);
    const int width = text.measure(shown, kFontHeight).width;
    text.draw(sheet, shown, {x + (kTile - width) / 2, y + kTile + 4}, kFontHeight, cv::Scalar(20, 20, 20));
  };
  place(0, image_bgr, "(이미지)");
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].patches.size() != static_cast<size_t>(grid) * grid)
      throw std::invalid_argument("attention map '" + path + "': word '" + words[i].word + "' has " +
                                  std::to_string(words[i].patches.size()) + " weights for a " + std::to_string(grid) +
                                  "x" + std::to_string(grid) + " grid");
    place(static_cast<int>(i) + 1, heat_tile(image_bgr, grid, words[i].patches), words[i].word);
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", sheet, png)) throw std::runtime_error("attention map '" + path + "': PNG encoding failed");
  write_file_atomically(path, [&](const WriteBytes& write) { write(png.data(), png.size()); });
}

}  // namespace hanvit::app
