// The dataset formats by name: the registry, detection from a file's extension and content, and reading options.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/formats/record_log.h"
#include "datasets/formats/sample.h"

namespace hanvit::data {

// Which captions a file with both Korean and English ones yields (coco-captions).
enum class CaptionLanguage { korean, english };

struct FormatOptions {
  // Relative image paths resolve against this folder; empty = the folder of the data file.
  std::filesystem::path image_root;
  CaptionLanguage language = CaptionLanguage::korean;
  // Skip (via the log) records whose image file does not exist.
  bool check_images = true;
};

// Reads every good record of one file as samples; bad records go to log.skip (which throws when
// the log is strict). A file that cannot be opened or parsed as a whole throws naming it.
using ReadSamples = std::vector<Sample> (*)(const std::filesystem::path& path, const FormatOptions& options,
                                            RecordLog& log);

struct DatasetFormat {
  std::string_view name;         // "caption-jsonl"
  std::string_view description;  // one line, for --help
  ReadSamples read;
};

// Throws std::invalid_argument "unknown dataset format 'x' (known: a, b, ...)".
const DatasetFormat& find_format(std::string_view name);
std::vector<std::string> list_formats();

// The format of `path` from its extension and first record: .jsonl files by their keys
// ("question" -> vqa-jsonl, "caption"/"captions" -> caption-jsonl); .json files by their
// start: an object with "images"/"annotations", or an array of objects with "caption_ko" /
// "file_path" -> coco-captions; an array of objects with "conversations" -> llava.
// Throws std::runtime_error "<path>: cannot tell the dataset format (...)" otherwise.
const DatasetFormat& detect_format(const std::filesystem::path& path);

// Reads `path` with the named format, or the detected one when `format` is empty.
std::vector<Sample> read_samples(const std::filesystem::path& path, std::string_view format,
                                 const FormatOptions& options, RecordLog& log);

}  // namespace hanvit::data
