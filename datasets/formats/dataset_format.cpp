// The registry of dataset formats and detection of a file's format.
#include "datasets/formats/dataset_format.h"

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "datasets/formats/caption_jsonl.h"
#include "datasets/formats/coco_captions.h"
#include "datasets/formats/llava.h"
#include "datasets/formats/vqa_jsonl.h"

namespace hanvit::data {

namespace fs = std::filesystem;

namespace {

constexpr std::array<DatasetFormat, 4> kFormats = {{
    {"caption-jsonl", "JSON Lines of {\"image\", \"caption\"} or {\"image\", \"captions\": [...]}", read_caption_jsonl},
    {"coco-captions", "COCO caption JSON (English \"caption\" and/or Korean \"caption_ko\")", read_coco_captions},
    {"vqa-jsonl", "JSON Lines of {\"image\", \"question\", \"answer\" or \"answers\"}", read_vqa_jsonl},
    {"llava", "LLaVA JSON array of {\"id\", \"image\", \"conversations\"}", read_llava},
}};

// How many leading bytes of a .json file detection looks at.
constexpr size_t kDetectBytes = 1 << 16;

std::string known_names() {
  std::string names;
  for (const DatasetFormat& f : kFormats) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

[[noreturn]] void undetectable(const fs::path& path, const std::string& why) {
  throw std::runtime_error(path.string() + ": cannot tell the dataset format (" + why + "); name one of " +
                           known_names());
}

const DatasetFormat& detect_jsonl(const fs::path& path, std::ifstream& in) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json first = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!first.is_object()) undetectable(path, "its first line is not a JSON object");
    if (first.contains("question")) return find_format("vqa-jsonl");
    if (first.contains("caption") || first.contains("captions")) return find_format("caption-jsonl");
    undetectable(path, "its first line has neither \"caption(s)\" nor \"question\"");
  }
  undetectable(path, "it is empty");
}

const DatasetFormat& detect_json(const fs::path& path, std::ifstream& in) {
  std::string head(kDetectBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t start = head.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) undetectable(path, "it is empty");
  const auto has = [&](std::string_view key) { return head.find(key) != std::string::npos; };
  if (head[start] == '{' && (has("\"images\"") || has("\"annotations\""))) return find_format("coco-captions");
  if (head[start] == '[' && has("\"conversations\"")) return find_format("llava");
  if (head[start] == '[' && (has("\"caption_ko\"") || has("\"file_path\""))) return find_format("coco-captions");
  undetectable(path, "no \"images\", \"annotations\", \"conversations\" or \"caption_ko\" near its start");
}

}  // namespace

const DatasetFormat& find_format(std::string_view name) {
  for (const DatasetFormat& f : kFormats)
    if (f.name == name) return f;
  throw std::invalid_argument("unknown dataset format '" + std::string(name) + "' (known: " + known_names() + ")");
}

std::vector<std::string> list_formats() {
  std::vector<std::string> names;
  names.reserve(kFormats.size());
  for (const DatasetFormat& f : kFormats) names.emplace_back(f.name);
  return names;
}

const DatasetFormat& detect_format(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  const std::string extension = path.extension().string();
  if (extension == ".jsonl") return detect_jsonl(path, in);
  if (extension == ".json") return detect_json(path, in);
  undetectable(path, "the extension is neither .jsonl nor .json");
}

std::vector<Sample> read_samples(const fs::path& path, std::string_view format, const FormatOptions& options,
                                 RecordLog& log) {
  const DatasetFormat& chosen = format.empty() ? detect_format(path) : find_format(format);
  return chosen.read(path, options, log);
}

}  // namespace hanvit::data
