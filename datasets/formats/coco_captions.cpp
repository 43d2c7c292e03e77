// Reading of COCO caption files, including the Korean (caption_ko) layouts.
#include "datasets/formats/coco_captions.h"

#include <stdexcept>
#include <unordered_map>

#include "datasets/formats/jsonl_file.h"
#include "datasets/formats/record_fields.h"

namespace hanvit::data {

namespace {

// One image being gathered: its path and its captions per language.
struct CocoImage {
  std::string where;
  std::string source;
  std::filesystem::path image;
  std::vector<std::string> korean, other;
  bool bad = false;  // skipped already (missing file, ...): its annotations are skipped too
};

void add_captions(const nlohmann::json& entry, CocoImage& image, std::string_view single_key,
                  std::string_view list_key) {
  if (entry.contains("caption_ko")) {
    for (std::string& c : require_text_or_list(entry["caption_ko"], "caption_ko")) image.korean.push_back(std::move(c));
  }
  if (!single_key.empty() && entry.contains(std::string(single_key)))
    image.other.push_back(require_text(entry[std::string(single_key)], single_key));
  if (!list_key.empty() && entry.contains(std::string(list_key))) {
    for (std::string& c : require_text_list(entry[std::string(list_key)], list_key))
      image.other.push_back(std::move(c));
  }
}

int64_t require_id(const nlohmann::json& value, std::string_view name) {
  if (!value.is_number_integer()) throw BadRecord("'" + std::string(name) + "' is not an integer");
  return value.get<int64_t>();
}

void emit(std::vector<CocoImage>& images, const FormatOptions& options, RecordLog& log, std::vector<Sample>& out) {
  for (CocoImage& image : images) {
    if (image.bad) continue;
    const bool korean = options.language == CaptionLanguage::korean;
    std::vector<std::string>* chosen = korean ? &image.korean : &image.other;
    if (chosen->empty()) chosen = korean ? &image.other : &image.korean;
    if (chosen->empty()) {
      log.skip(image.where, "no caption");
      continue;
    }
    Sample sample;
    sample.kind = SampleKind::caption;
    sample.image = std::move(image.image);
    sample.references = std::move(*chosen);
    sample.turns = {Turn{"", sample.references.front()}};
    sample.source = std::move(image.source);
    out.push_back(std::move(sample));
    log.accept();
  }
}

// Layout 1: {"images": [...], "annotations": [...]}.
std::vector<Sample> read_coco_object(const nlohmann::json& root, const std::string& file,
                                     const std::filesystem::path& base, const FormatOptions& options, RecordLog& log) {
  if (!root.contains("images") || !root["images"].is_array()) throw std::runtime_error(file + ": no \"images\" array");
  if (root.contains("annotations") && !root["annotations"].is_array())
    throw std::runtime_error(file + ": \"annotations\" is not an array");
  const nlohmann::json& entries = root["images"];
  std::vector<CocoImage> images;
  std::unordered_map<int64_t, size_t> by_id;
  for (size_t i = 0; i < entries.size(); ++i) {
    CocoImage image;
    image.where = file + ": images[" + std::to_string(i) + "]";
    try {
      const int64_t id = require_id(require_field(entries[i], "id"), "id");
      if (by_id.count(id)) throw BadRecord("duplicate image id " + std::to_string(id));
      image.source = image.where + " (id " + std::to_string(id) + ")";
      by_id[id] = images.size();
      images.push_back(std::move(image));
    } catch (const BadRecord& e) {
      log.skip(image.where, e.what());
      continue;
    }
    CocoImage& added = images.back();
    try {
      add_captions(entries[i], added, "", "captions");
      added.image =
          resolve_image(require_text(require_field(entries[i], "file_name"), "file_name"), base, options.check_images);
    } catch (const BadRecord& e) {
      added.bad = true;
      log.skip(added.where, e.what());
    }
  }
  if (root.contains("annotations")) {
    const nlohmann::json& annotations = root["annotations"];
    for (size_t j = 0; j < annotations.size(); ++j) {
      const std::string where = file + ": annotations[" + std::to_string(j) + "]";
      try {
        const int64_t id = require_id(require_field(annotations[j], "image_id"), "image_id");
        const auto found = by_id.find(id);
        if (found == by_id.end()) throw BadRecord("unknown image_id " + std::to_string(id));
        CocoImage& image = images[found->second];
        if (image.bad) throw BadRecord("image_id " + std::to_string(id) + " belongs to a skipped image");
        if (!annotations[j].contains("caption") && !annotations[j].contains("caption_ko"))
          throw BadRecord("missing field 'caption'");
        CocoImage gathered;
        add_captions(annotations[j], gathered, "caption", "");
        image.korean.insert(image.korean.end(), gathered.korean.begin(), gathered.korean.end());
        image.other.insert(image.other.end(), gathered.other.begin(), gathered.other.end());
      } catch (const BadRecord& e) {
        log.skip(where, e.what());
      }
    }
  }
  std::vector<Sample> samples;
  emit(images, options, log, samples);
  return samples;
}

// Layout 2: [{"file_path", "captions", "caption_ko"}, ...].
std::vector<Sample> read_coco_array(const nlohmann::json& root, const std::string& file,
                                    const std::filesystem::path& base, const FormatOptions& options, RecordLog& log) {
  std::vector<CocoImage> images;
  for (size_t i = 0; i < root.size(); ++i) {
    CocoImage image;
    image.where = file + ": [" + std::to_string(i) + "]";
    image.source = image.where;
    try {
      add_captions(root[i], image, "", "captions");
      image.image =
          resolve_image(require_text(require_field(root[i], "file_path"), "file_path"), base, options.check_images);
      images.push_back(std::move(image));
    } catch (const BadRecord& e) {
      log.skip(image.where, e.what());
    }
  }
  std::vector<Sample> samples;
  emit(images, options, log, samples);
  return samples;
}

}  // namespace

std::vector<Sample> read_coco_captions(const std::filesystem::path& path, const FormatOptions& options,
                                       RecordLog& log) {
  const nlohmann::json root = read_json_file(path);
  const std::filesystem::path base = image_base(path, options.image_root);
  if (root.is_object()) return read_coco_object(root, path.string(), base, options, log);
  if (root.is_array()) return read_coco_array(root, path.string(), base, options, log);
  throw std::runtime_error(path.string() + ": not a COCO caption file (neither an object nor an array)");
}

}  // namespace hanvit::data
