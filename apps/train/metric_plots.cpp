// PNG line plots of a run's metrics.jsonl (one per metric, a line per split), drawn with OpenCV.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/train/metric_plots.h"
#include "apps/train/metrics_log.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace fs = std::filesystem;
namespace {

// The values of one metric in one split by step; a later record of the same step replaces an earlier one,
// as a run resumed from a checkpoint logs its steps again.
using Series = std::map<int64_t, double>;
// split ("train", "val") -> series, for one metric.
using MetricSeries = std::map<std::string, Series>;

// Canvas and plot-area geometry in pixels.
constexpr int kWidth = 900, kHeight = 540, kLeft = 96, kRight = 28, kTop = 52, kBottom = 60;
constexpr int kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;
// Series with at most this many points also get a dot on each point (sparse validation curves).
constexpr size_t kMaxMarkedPoints = 40;
// Sub-pixel precision of line drawing: coordinates are scaled by 2^kShift.
constexpr int kShift = 4;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kTickFontScale = 0.45, kTitleFontScale = 0.75;

const cv::Scalar kInk(40, 40, 40), kGridInk(228, 228, 228), kPaper(255, 255, 255);

cv::Scalar split_color(const std::string& split) {
  return split == "train" ? cv::Scalar(180, 119, 31) : cv::Scalar(14, 127, 255);  // BGR blue, orange
}

// An axis from `low` to `high`, both multiples of `tick`.
struct Axis {
  double low, high, tick;
};

// The smallest 1, 2 or 5 times a power of ten that cuts `span` into at most `target` parts.
double nice_tick(double span, int target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double mantissa : {1.0, 2.0, 5.0}) {
    if (mantissa * magnitude >= raw) return mantissa * magnitude;
  }
  return 10.0 * magnitude;
}

Axis nice_axis(double low, double high, int target, double min_tick) {
  if (high <= low) {
    const double pad = low != 0.0 ? std::abs(low) * 0.1 : 1.0;
    low -= pad;
    high += pad;
  }
  const double tick = std::max(nice_tick(high - low, target), min_tick);
  return {std::floor(low / tick) * tick, std::ceil(high / tick) * tick, tick};
}

std::vector<double> tick_values(const Axis& axis) {
  std::vector<double> values;
  for (int i = 0;; ++i) {
    const double value = axis.low + i * axis.tick;
    if (value > axis.high + axis.tick * 1e-6) break;
    values.push_back(std::abs(value) < axis.tick * 1e-6 ? 0.0 : value);
  }
  return values;
}

// A y tick label with as many digits as the tick size needs: 0.25, 1.5e-04, 120.
std::string value_label(double value, const Axis& axis) {
  const double largest = std::max(std::abs(axis.low), std::abs(axis.high));
  const int tick_exponent = static_cast<int>(std::floor(std::log10(axis.tick) + 1e-9));
  char text[32];
  if (largest >= 1e5 || axis.tick < 1e-3) {
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(largest))) - tick_exponent);
    std::snprintf(text, sizeof(text), "%.*e", digits, value);
  } else {
    std::snprintf(text, sizeof(text), "%.*f", std::max(0, -tick_exponent), value);
  }
  return text;
}

std::string step_label(double value) { return std::to_string(std::llround(value)); }

// Draws `text` with its anchor point placed by the fractions (0: left/top, 0.5: centre, 1: right/bottom).
void draw_text(cv::Mat& canvas, const std::string& text, cv::Point anchor, double align_x, double align_y, double scale,
               int thickness = 1) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  const cv::Point origin(anchor.x - static_cast<int>(align_x * size.width),
                         anchor.y + static_cast<int>((1.0 - align_y) * size.height) - 1);
  cv::putText(canvas, text, origin, kFont, scale, kInk, thickness, cv::LINE_AA);
}

class PlotFrame {
 public:
  PlotFrame(const Axis& x, const Axis& y) : x_(x), y_(y) {}
  // The point of (step, value) in canvas pixels scaled by 2^kShift.
  cv::Point scaled(double step, double value) const {
    const double px = kLeft + (step - x_.low) / (x_.high - x_.low) * kPlotWidth;
    const double py = kTop + kPlotHeight - (value - y_.low) / (y_.high - y_.low) * kPlotHeight;
    return {static_cast<int>(std::lround(px * (1 << kShift))), static_cast<int>(std::lround(py * (1 << kShift)))};
  }
  const Axis& x() const { return x_; }
  const Axis& y() const { return y_; }

 private:
  Axis x_, y_;
};

void draw_axes(cv::Mat& canvas, const PlotFrame& frame) {
  for (double value : tick_values(frame.y())) {
    const int py = frame.scaled(frame.x().low, value).y >> kShift;
    cv::line(canvas, {kLeft, py}, {kLeft + kPlotWidth, py}, kGridInk, 1);
    cv::line(canvas, {kLeft - 5, py}, {kLeft, py}, kInk, 1);
    draw_text(canvas, value_label(value, frame.y()), {kLeft - 9, py}, 1.0, 0.5, kTickFontScale);
  }
  for (double value : tick_values(frame.x())) {
    const int px = frame.scaled(value, frame.y().low).x >> kShift;
    cv::line(canvas, {px, kTop}, {px, kTop + kPlotHeight}, kGridInk, 1);
    cv::line(canvas, {px, kTop + kPlotHeight}, {px, kTop + kPlotHeight + 5}, kInk, 1);
    draw_text(canvas, step_label(value), {px, kTop + kPlotHeight + 10}, 0.5, 0.0, kTickFontScale);
  }
  cv::rectangle(canvas, {kLeft, kTop}, {kLeft + kPlotWidth, kTop + kPlotHeight}, kInk, 1);
  draw_text(canvas, "step", {kLeft + kPlotWidth / 2, kHeight - 12}, 0.5, 1.0, 0.55);
}

// One polyline per run of finite values (a NaN or infinity breaks the line), plus dots on sparse series.
void draw_series(cv::Mat& canvas, const PlotFrame& frame, const Series& series, const cv::Scalar& color) {
  std::vector<std::vector<cv::Point>> runs(1);
  for (const auto& [step, value] : series) {
    if (!std::isfinite(value)) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    runs.back().push_back(frame.scaled(static_cast<double>(step), value));
  }
  cv::polylines(canvas, runs, false, color, 2, cv::LINE_AA, kShift);
  if (series.size() > kMaxMarkedPoints) return;
  for (const auto& run : runs) {
    for (const cv::Point& point : run) cv::circle(canvas, point, 4 << kShift, color, cv::FILLED, cv::LINE_AA, kShift);
  }
}

void draw_legend(cv::Mat& canvas, const MetricSeries& splits) {
  constexpr int kRow = 22, kSwatch = 26, kPad = 10;
  int text_width = 0;
  for (const auto& [split, series] : splits) {
    int baseline = 0;
    text_width = std::max(text_width, cv::getTextSize(split, kFont, kTickFontScale + 0.05, 1, &baseline).width);
  }
  const int width = kPad + kSwatch + 8 + text_width + kPad, height = kPad + kRow * static_cast<int>(splits.size());
  const cv::Point corner(kLeft + kPlotWidth - width - 12, kTop + 12);
  cv::rectangle(canvas, corner, corner + cv::Point(width, height + kPad / 2), kPaper, cv::FILLED);
  cv::rectangle(canvas, corner, corner + cv::Point(width, height + kPad / 2), cv::Scalar(190, 190, 190), 1);
  int row_y = corner.y + kPad + kRow / 2 - 2;
  for (const auto& [split, series] : splits) {
    cv::line(canvas, {corner.x + kPad, row_y}, {corner.x + kPad + kSwatch, row_y}, split_color(split), 2, cv::LINE_AA);
    draw_text(canvas, split, {corner.x + kPad + kSwatch + 8, row_y}, 0.0, 0.5, kTickFontScale + 0.05);
    row_y += kRow;
  }
}

cv::Mat draw_plot(const std::string& metric, const MetricSeries& splits) {
  double low_step = INFINITY, high_step = -INFINITY, low_value = INFINITY, high_value = -INFINITY;
  for (const auto& [split, series] : splits) {
    for (const auto& [step, value] : series) {
      if (!std::isfinite(value)) continue;
      low_step = std::min(low_step, static_cast<double>(step));
      high_step = std::max(high_step, static_cast<double>(step));
      low_value = std::min(low_value, value);
      high_value = std::max(high_value, value);
    }
  }
  const PlotFrame frame(nice_axis(low_step, high_step, 6, 1.0), nice_axis(low_value, high_value, 6, 0.0));
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, kPaper);
  draw_axes(canvas, frame);
  for (const auto& [split, series] : splits) draw_series(canvas, frame, series, split_color(split));
  draw_legend(canvas, splits);
  draw_text(canvas, metric, {kWidth / 2, 16}, 0.5, 0.0, kTitleFontScale, 2);
  return canvas;
}

bool has_finite_value(const MetricSeries& splits) {
  for (const auto& [split, series] : splits) {
    for (const auto& [step, value] : series) {
      if (std::isfinite(value)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> write_metric_plots(const std::string& run_dir, const std::string& out) {
  std::error_code error;
  if (!fs::is_directory(run_dir, error)) {
    throw std::invalid_argument("run folder '" + run_dir + "': not a folder");
  }
  const std::string metrics_path = (fs::path(run_dir) / kMetricsFileName).string();
  std::map<std::string, MetricSeries> metrics;  // metric name -> split -> series
  for (const MetricsRecord& record : read_metrics(metrics_path)) {
    for (const auto& [name, value] : record.values) metrics[name][record.split][record.step] = value;
  }
  std::erase_if(metrics, [](const auto& entry) { return !has_finite_value(entry.second); });
  if (metrics.empty())
    throw std::invalid_argument("metrics file '" + metrics_path + "' has no numeric metrics to plot");

  const fs::path out_dir = out.empty() ? fs::path(run_dir) : fs::path(out);
  fs::create_directories(out_dir, error);
  if (!fs::is_directory(out_dir)) throw std::invalid_argument("--out '" + out_dir.string() + "': not a folder");

  std::vector<std::string> order;  // loss first, then the other metrics by name
  if (metrics.contains("loss")) order.push_back("loss");
  for (const auto& [name, splits] : metrics) {
    if (name != "loss") order.push_back(name);
  }
  std::vector<std::string> written;
  for (const std::string& name : order) {
    const std::string path = (out_dir / (name + ".png")).string();
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", draw_plot(name, metrics.at(name)), png)) {
      throw std::runtime_error("plot '" + path + "': PNG encoding failed");
    }
    write_file_atomically(path, [&](const WriteBytes& write) { write(png.data(), png.size()); });
    written.push_back(path);
  }
  return written;
}


}  // namespace hanvit::app
