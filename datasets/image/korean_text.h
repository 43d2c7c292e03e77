// Drawing Korean text on images: a Hangul font (Nanum, from Debian's fonts-nanum) through OpenCV's
// FreeType module.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/freetype.hpp>
#include <string>

namespace hanvit::data {

// The font file: $HANVIT_FONT when set, else the first Nanum Gothic found in the system font
// folders. Throws std::runtime_error saying to install fonts-nanum (or set HANVIT_FONT).
std::string find_korean_font();

class KoreanTextRenderer {
 public:
  explicit KoreanTextRenderer(const std::string& font_path = find_korean_font());

  // Draws UTF-8 `text` with its top-left corner at `origin`, `height` pixels tall.
  void draw(cv::Mat& image, const std::string& text, cv::Point origin, int height, cv::Scalar colour) const;
  // Width and height the text would take.
  cv::Size measure(const std::string& text, int height) const;
  // `text` shortened with "…" (whole UTF-8 characters) so that it fits in `width` pixels.
  std::string fit(const std::string& text, int height, int width) const;

 private:
  cv::Ptr<cv::freetype::FreeType2> font_;
};

}  // namespace hanvit::data
