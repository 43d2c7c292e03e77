// The words and colours of the synthetic Korean shapes dataset (DESIGN.md §5): colours, shapes, grid positions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hanvit::data {

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};

struct SynthColour {
  std::string_view adjective;  // in captions and questions: 빨간 원
  std::string_view noun;       // the answer to 무슨 색인가요?: 빨간색
  Rgb rgb;                     // saturated: some channel < 150, so never mistaken for the background
};

// Seven fixed ink colours, one exact RGB value each (no jitter), all distinct.
inline constexpr std::array<SynthColour, 7> kSynthColours = {{
    {"빨간", "빨간색", {220, 30, 40}},
    {"주황", "주황색", {245, 130, 20}},
    {"노란", "노란색", {235, 195, 0}},
    {"초록", "초록색", {30, 150, 60}},
    {"파란", "파란색", {30, 80, 220}},
    {"보라", "보라색", {135, 55, 185}},
    {"검은", "검은색", {25, 25, 25}},
}};

enum class SynthShape { circle, square, triangle, star, heart, diamond };
inline constexpr size_t kSynthShapeCount = 6;
inline constexpr std::array<std::string_view, kSynthShapeCount> kSynthShapeNames = {"원", "사각형", "삼각형",
                                                                                    "별", "하트",   "마름모"};

// The nine cells of the 3x3 grid in reading order (top row first, left to right): cell = row * 3 + column.
inline constexpr size_t kSynthCells = 9;
inline constexpr std::array<std::string_view, kSynthCells> kSynthPositions = {
    "왼쪽 위", "위", "오른쪽 위", "왼쪽", "가운데", "오른쪽", "왼쪽 아래", "아래", "오른쪽 아래"};

inline std::string_view shape_name(SynthShape shape) { return kSynthShapeNames[static_cast<size_t>(shape)]; }

}  // namespace hanvit::data
