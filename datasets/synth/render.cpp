// Scene rasteriser: unit-square outlines of the six shapes, scaled into each box and filled with cv::fillPoly.
#include "datasets/synth/render.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace hanvit::data {
namespace {

struct Point {
  double x, y;
};

// Rescales an outline so its bounding box is exactly [0, 1] x [0, 1] (y down).
std::vector<Point> fit_unit_square(std::vector<Point> points) {
  double x_min = points[0].x, x_max = x_min, y_min = points[0].y, y_max = y_min;
  for (const Point& p : points) {
    x_min = std::min(x_min, p.x), x_max = std::max(x_max, p.x);
    y_min = std::min(y_min, p.y), y_max = std::max(y_max, p.y);
  }
  for (Point& p : points) p = {(p.x - x_min) / (x_max - x_min), (p.y - y_min) / (y_max - y_min)};
  return points;
}

std::vector<Point> unit_outline(SynthShape shape) {
  constexpr double pi = std::numbers::pi;
  constexpr int kCurvePoints = 64;  // a multiple of 4, so the circle has its four extreme points
  std::vector<Point> points;
  switch (shape) {
    case SynthShape::circle:
      for (int i = 0; i < kCurvePoints; ++i)
        points.push_back({std::cos(2 * pi * i / kCurvePoints), std::sin(2 * pi * i / kCurvePoints)});
      break;
    case SynthShape::square:
      points = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
      break;
    case SynthShape::triangle:
      points = {{0.5, 0}, {1, 1}, {0, 1}};
      break;
    case SynthShape::star:
      for (int i = 0; i < 10; ++i) {
        const double radius = i % 2 == 0 ? 1.0 : 0.382;  // regular pentagram: inner / outer = 0.382
        const double angle = -pi / 2 + pi * i / 5;
        points.push_back({radius * std::cos(angle), radius * std::sin(angle)});
      }
      break;
    case SynthShape::heart:
      for (int i = 0; i < kCurvePoints; ++i) {
        const double t = 2 * pi * i / kCurvePoints;
        const double s = std::sin(t);
        points.push_back(
            {16 * s * s * s, -(13 * std::cos(t) - 5 * std::cos(2 * t) - 2 * std::cos(3 * t) - std::cos(4 * t))});
      }
      break;
    case SynthShape::diamond:
      points = {{0.5, 0}, {1, 0.5}, {0.5, 1}, {0, 0.5}};
      break;
  }
  return fit_unit_square(std::move(points));
}

const std::vector<Point>& cached_outline(SynthShape shape) {
  static const std::array<std::vector<Point>, kSynthShapeCount> outlines = [] {
    std::array<std::vector<Point>, kSynthShapeCount> all;
    for (size_t i = 0; i < kSynthShapeCount; ++i) all[i] = unit_outline(static_cast<SynthShape>(i));
    return all;
  }();
  return outlines[static_cast<size_t>(shape)];
}

constexpr int kShiftBits = 4;  // sub-pixel vertex precision of cv::fillPoly

void draw_object(cv::Mat& image, const SynthObject& object) {
  const std::vector<Point>& outline = cached_outline(object.shape);
  // Unit 0 and 1 land on the centres of the box's first and last pixel columns / rows.
  const double span = object.box.x1 - object.box.x0 - 1;
  std::vector<cv::Point> vertices;
  vertices.reserve(outline.size());
  for (const Point& p : outline)
    vertices.emplace_back(static_cast<int>(std::lround((object.box.x0 + p.x * span) * (1 << kShiftBits))),
                          static_cast<int>(std::lround((object.box.y0 + p.y * span) * (1 << kShiftBits))));
  const Rgb ink = kSynthColours[object.colour].rgb;
  const cv::Scalar colour(ink.b, ink.g, ink.r);
  cv::fillPoly(image, std::vector<std::vector<cv::Point>>{vertices}, colour, cv::LINE_8, kShiftBits);
  cv::polylines(image, std::vector<std::vector<cv::Point>>{vertices}, true, colour, 1, cv::LINE_8, kShiftBits);
}

}  // namespace

cv::Mat render_scene(const Scene& scene) {
  cv::Mat image(scene.size, scene.size, CV_8UC3,
                cv::Scalar(scene.background.b, scene.background.g, scene.background.r));
  for (const SynthObject& object : scene.objects) draw_object(image, object);
  return image;
}

}  // namespace hanvit::data
