// What `hanvit demo` shows: the metrics table with examples on stdout, gallery.html and a PNG contact sheet.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "apps/train/generation_eval.h"

namespace hanvit::app {

// An HTML page: the metrics, then each test image (linked relative to `base`) with its generated
// caption, the reference and its questions with generated and expected answers. Written atomically.
void write_gallery(const std::filesystem::path& path, const std::vector<GeneratedExample>& examples,
                   const nlohmann::json& metrics, const std::filesystem::path& base);

// The first `count` captioned test images in a grid, each enlarged with its generated caption drawn
// under it in Hangul (green when it equals the reference, red otherwise). Written atomically.
void write_contact_sheet(const std::filesystem::path& path, const std::vector<GeneratedExample>& examples,
                         size_t count);

// The metrics against the demo's targets, and a few test images' captions and answers.
void print_demo_report(const GenerationScores& scores, const nlohmann::json& metrics, double total_seconds,
                       const std::filesystem::path& out);

}  // namespace hanvit::app
