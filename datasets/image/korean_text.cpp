// Korean text on images through OpenCV FreeType and a Nanum font.
#include "datasets/image/korean_text.h"

#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace hanvit::data {

std::string find_korean_font() {
  if (const char* env = std::getenv("HANVIT_FONT"); env && *env) {
    if (!std::filesystem::is_regular_file(env))
      throw std::runtime_error(std::string("HANVIT_FONT '") + env + "' is not a font file");
    return env;
  }
  for (const char* path : {"/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
                           "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
                           "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf",
                           "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"})
    if (std::filesystem::is_regular_file(path)) return path;
  throw std::runtime_error("no Korean font found: install fonts-nanum (apt-get install fonts-nanum) or set HANVIT_FONT");
}

KoreanTextRenderer::KoreanTextRenderer(const std::string& font_path) : font_(cv::freetype::createFreeType2()) {
  font_->loadFontData(font_path, 0);
}

void KoreanTextRenderer::draw(cv::Mat& image, const std::string& text, cv::Point origin, int height,
                              cv::Scalar colour) const {
  int baseline = 0;
  cv::Size size = font_->getTextSize(text, height, -1, &baseline);
  font_->putText(image, text, {origin.x, origin.y + size.height}, height, colour, -1, cv::LINE_AA, true);
}

cv::Size KoreanTextRenderer::measure(const std::string& text, int height) const {
  int baseline = 0;
  return font_->getTextSize(text, height, -1, &baseline);
}

std::string KoreanTextRenderer::fit(const std::string& text, int height, int width) const {
  if (measure(text, height).width <= width) return text;
  std::string cut = text;
  while (!cut.empty()) {
    // Drop the last whole UTF-8 character: its continuation bytes (10xxxxxx), then its first byte.
    while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0x80) cut.pop_back();
    if (!cut.empty()) cut.pop_back();
    if (measure(cut + "…", height).width <= width) return cut + "…";
  }
  return "…";
}

}  // namespace hanvit::data
