// Checked field access for dataset records.
#include "datasets/formats/record_fields.h"

namespace hanvit::data {

namespace fs = std::filesystem;

const nlohmann::json& require_field(const nlohmann::json& record, std::string_view key) {
  if (!record.is_object()) throw BadRecord("record is not a JSON object");
  const auto it = record.find(std::string(key));
  if (it == record.end()) throw BadRecord("missing field '" + std::string(key) + "'");
  return *it;
}

std::string require_text(const nlohmann::json& value, std::string_view name) {
  if (!value.is_string()) throw BadRecord("'" + std::string(name) + "' is not a string");
  const std::string& text = value.get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw BadRecord("'" + std::string(name) + "' is empty");
  return text;
}

std::vector<std::string> require_text_list(const nlohmann::json& value, std::string_view name) {
  if (!value.is_array()) throw BadRecord("'" + std::string(name) + "' is not an array");
  if (value.empty()) throw BadRecord("'" + std::string(name) + "' is empty");
  std::vector<std::string> texts;
  for (size_t i = 0; i < value.size(); ++i)
    texts.push_back(require_text(value[i], std::string(name) + "[" + std::to_string(i) + "]"));
  return texts;
}

std::vector<std::string> require_answer_list(const nlohmann::json& value, std::string_view name) {
  if (!value.is_array()) throw BadRecord("'" + std::string(name) + "' is not an array");
  if (value.empty()) throw BadRecord("'" + std::string(name) + "' is empty");
  std::vector<std::string> answers;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
    const nlohmann::json& item = value[i];
    answers.push_back(item.is_object() ? require_text(require_field(item, "answer"), item_name + ".answer")
                                       : require_text(item, item_name));
  }
  return answers;
}

std::vector<std::string> require_text_or_list(const nlohmann::json& value, std::string_view name) {
  if (value.is_array()) return require_text_list(value, name);
  return {require_text(value, name)};
}

fs::path resolve_image(std::string_view image, const fs::path& base, bool check_exists) {
  const fs::path given(image);
  fs::path path = (given.is_absolute() ? given : fs::absolute(base / given)).lexically_normal();
  if (check_exists) {
    std::error_code error;
    if (!fs::is_regular_file(path, error)) throw BadRecord("image not found: " + path.string());
  }
  return path;
}

fs::path image_base(const fs::path& data_file, const fs::path& image_root) {
  return image_root.empty() ? fs::absolute(data_file).parent_path() : fs::absolute(image_root);
}

}  // namespace hanvit::data
