// The demo's report: stdout table, gallery.html, contact_sheet.png (OpenCV + Nanum font for Hangul).
#include "apps/train/demo_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "apps/train/progress_bar.h"
#include "datasets/image/decode.h"
#include "datasets/image/korean_text.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace fs = std::filesystem;

namespace {

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_correct(const GeneratedExample& e) {
  return std::find(e.references.begin(), e.references.end(), e.prediction) != e.references.end();
}

// Questions and answers by image, in example order.
std::map<std::string, std::vector<const GeneratedExample*>> questions_by_image(
    const std::vector<GeneratedExample>& examples) {
  std::map<std::string, std::vector<const GeneratedExample*>> by_image;
  for (const GeneratedExample& e : examples)
    if (!e.question.empty()) by_image[e.image].push_back(&e);
  return by_image;
}

// Splits `text` at spaces into lines that fit `width` pixels (a word longer than a line is cut by fit()).
std::vector<std::string> wrap(const data::KoreanTextRenderer& font, const std::string& text, int height, int width) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    const std::string joined = line.empty() ? word : line + " " + word;
    if (!line.empty() && font.measure(joined, height).width > width) {
      lines.push_back(line);
      line = word;
    } else {
      line = joined;
    }
    start = end + 1;
  }
  if (!line.empty()) lines.push_back(font.fit(line, height, width));
  return lines;
}

}  // namespace

void write_gallery(const fs::path& path, const std::vector<GeneratedExample>& examples, const nlohmann::json& metrics,
                   const fs::path& base) {
  const auto questions = questions_by_image(examples);
  std::string html =
      "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\"><title>Hanvit demo</title>\n"
      "<style>body{font-family:sans-serif;margin:2em}table.m td{padding:2px 12px}"
      ".g{display:flex;flex-wrap:wrap;gap:16px}.c{width:260px;border:1px solid #ddd;padding:8px}"
      ".c img{width:256px;image-rendering:pixelated}.ok{color:#1a7f37}.bad{color:#cf222e}"
      "small{color:#666}</style></head><body>\n<h1>Hanvit demo: Korean shapes captioner</h1>\n<table class=\"m\">\n";
  for (const auto& [name, value] : metrics.items())
    html += "<tr><td>" + html_escape(name) + "</td><td>" + html_escape(value.dump()) + "</td></tr>\n";
  html += "</table>\n<div class=\"g\">\n";
  for (const GeneratedExample& e : examples) {
    if (!e.question.empty()) continue;
    const std::string image = fs::relative(e.image, base).generic_string();
    html += "<div class=\"c\"><img src=\"" + html_escape(image) + "\" alt=\"\"><p class=\"" +
            (is_correct(e) ? "ok" : "bad") + "\">" + html_escape(e.prediction) + "</p>";
    if (!is_correct(e)) html += "<p><small>reference: " + html_escape(e.references.front()) + "</small></p>";
    auto it = questions.find(e.image);
    if (it != questions.end()) {
      html += "<ul>";
      for (const GeneratedExample* q : it->second)
        html += "<li>" + html_escape(q->question) + " <b class=\"" + (is_correct(*q) ? "ok" : "bad") + "\">" +
                html_escape(q->prediction) + "</b>" +
                (is_correct(*q) ? "" : " <small>(" + html_escape(q->references.front()) + ")</small>") + "</li>";
      html += "</ul>";
    }
    html += "</div>\n";
  }
  html += "</div>\n</body></html>\n";
  write_text_atomically(path.string(), html);
}

void write_contact_sheet(const fs::path& path, const std::vector<GeneratedExample>& examples, size_t count) {
  std::vector<const GeneratedExample*> captions;
  for (const GeneratedExample& e : examples)
    if (e.question.empty() && captions.size() < count) captions.push_back(&e);
  if (captions.empty()) throw std::invalid_argument("contact sheet: no captioned image");
  const data::KoreanTextRenderer font;
  constexpr int kTile = 224, kText = 17, kLines = 3, kPad = 10, kColumns = 4;
  const int cell_h = kTile + kPad + kLines * (kText + 5) + kPad;
  const int rows = static_cast<int>((captions.size() + kColumns - 1) / kColumns);
  cv::Mat sheet(rows * cell_h + kPad, kColumns * (kTile + kPad) + kPad, CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t i = 0; i < captions.size(); ++i) {
    const int x = kPad + static_cast<int>(i % kColumns) * (kTile + kPad);
    const int y = kPad + static_cast<int>(i / kColumns) * cell_h;
    cv::Mat rgb = data::decode_image_file(captions[i]->image), bgr, tile;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    cv::resize(bgr, tile, {kTile, kTile}, 0, 0, cv::INTER_NEAREST);
    tile.copyTo(sheet(cv::Rect(x, y, kTile, kTile)));
    const cv::Scalar ink = is_correct(*captions[i]) ? cv::Scalar(55, 127, 26) : cv::Scalar(34, 34, 207);
    const std::vector<std::string> lines = wrap(font, captions[i]->prediction, kText, kTile);
    for (size_t l = 0; l < lines.size() && l < static_cast<size_t>(kLines); ++l)
      font.draw(sheet, lines[l], {x, y + kTile + kPad / 2 + static_cast<int>(l) * (kText + 5)}, kText, ink);
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", sheet, png)) throw std::runtime_error("contact sheet '" + path.string() + "': PNG encoding failed");
  write_file_atomically(path.string(), [&](const WriteBytes& write) { write(png.data(), png.size()); });
}

void print_demo_report(const GenerationScores& scores, const nlohmann::json& metrics, double total_seconds,
                       const fs::path& out) {
  struct Row {
    const char* key;
    const char* label;
    double target;
  };
  const Row rows[] = {{"vqa_accuracy", "VQA accuracy", 0.95},
                      {"caption_exact_match", "caption exact match", 0.70},
                      {"cider_d", "CIDEr-D", 2.5},
                      {"bleu4", "BLEU-4", 0.0},
                      {"rouge_l", "ROUGE-L", 0.0}};
  std::printf("\n  %-22s %8s %8s\n", "test split", "value", "target");
  for (const Row& row : rows) {
    if (!metrics.contains(row.key)) continue;
    const double value = metrics[row.key].get<double>();
    if (row.target > 0)
      std::printf("  %-22s %8.3f %8.2f %s\n", row.label, value, row.target, value >= row.target ? "ok" : "BELOW");
    else
      std::printf("  %-22s %8.3f %8s\n", row.label, value, "");
  }
  std::printf("  %-22s %8s\n  %-22s %8s\n\n", "training time", format_duration(metrics["train_seconds"].get<double>()).c_str(),
              "total time", format_duration(total_seconds).c_str());
  const auto questions = questions_by_image(scores.examples);
  int shown = 0;
  for (const GeneratedExample& e : scores.examples) {
    if (!e.question.empty() || shown == 4) continue;
    ++shown;
    std::printf("  %s\n    caption: %s%s\n", fs::relative(e.image, out).generic_string().c_str(), e.prediction.c_str(),
                is_correct(e) ? "" : ("   (reference: " + e.references.front() + ")").c_str());
    auto it = questions.find(e.image);
    if (it == questions.end()) continue;
    for (size_t q = 0; q < it->second.size() && q < 2; ++q)
      std::printf("    %s -> %s\n", it->second[q]->question.c_str(), it->second[q]->prediction.c_str());
  }
  std::printf("\n  gallery: %s\n  contact sheet: %s\n  loss curve: %s\n  model: %s\n",
              (out / "gallery.html").string().c_str(), (out / "contact_sheet.png").string().c_str(),
              (out / "loss.png").string().c_str(), (out / "model").string().c_str());
}

}  // namespace hanvit::app
