// Checked access to the fields of one JSON record, shared by the dataset formats: a bad field throws BadRecord.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hanvit::data {

// The reason a record is skipped ("missing field 'image'"); the format adds where it is.
class BadRecord : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The record must be a JSON object holding `key`.
const nlohmann::json& require_field(const nlohmann::json& record, std::string_view key);
// Text that is a string with at least one non-whitespace character; `name` names it in errors.
std::string require_text(const nlohmann::json& value, std::string_view name);
// A non-empty array of texts (each checked by require_text as "name[i]").
std::vector<std::string> require_text_list(const nlohmann::json& value, std::string_view name);
// A non-empty array of answers, each a text or a VQAv2 object {"answer": text} ("name[i]" in errors).
std::vector<std::string> require_answer_list(const nlohmann::json& value, std::string_view name);
// A string or a non-empty array of strings, as a list.
std::vector<std::string> require_text_or_list(const nlohmann::json& value, std::string_view name);

// The absolute, normalised path of `image` (absolute ones are kept, relative ones joined to `base`);
// throws BadRecord "image not found: <path>" when check_exists and it is not a regular file.
std::filesystem::path resolve_image(std::string_view image, const std::filesystem::path& base, bool check_exists);
// The folder relative image paths of `data_file` resolve against: image_root, or the file's folder.
std::filesystem::path image_base(const std::filesystem::path& data_file, const std::filesystem::path& image_root);

}  // namespace hanvit::data
