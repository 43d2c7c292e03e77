// Reading of LLaVA conversation JSON files.
#include "datasets/formats/llava.h"

#include <stdexcept>

#include "datasets/formats/jsonl_file.h"
#include "datasets/formats/record_fields.h"

namespace hanvit::data {

namespace {

// Removes the placeholder (with the newline joining it to the text) from the first human turn;
// returns whether the image came first.
bool strip_placeholder(std::string& text) {
  const size_t at = text.find(kImagePlaceholder);
  if (at == std::string::npos) return true;
  if (text.find(kImagePlaceholder, at + 1) != std::string::npos)
    throw BadRecord("conversations[0] has more than one <image> placeholder");
  const size_t end = at + kImagePlaceholder.size();
  if (at == 0) {
    text.erase(0, end < text.size() && text[end] == '\n' ? end + 1 : end);
    return true;
  }
  if (end != text.size()) throw BadRecord("conversations[0] has <image> in the middle of its text");
  text.erase(at > 0 && text[at - 1] == '\n' ? at - 1 : at);
  return false;
}

std::string turn_text(const nlohmann::json& turn, size_t index, std::string_view expected_from) {
  const std::string name = "conversations[" + std::to_string(index) + "]";
  const std::string from = require_text(require_field(turn, "from"), name + ".from");
  if (from != expected_from)
    throw BadRecord(name + ".from is '" + from + "', expected '" + std::string(expected_from) + "'");
  return require_text(require_field(turn, "value"), name + ".value");
}

Sample read_record(const nlohmann::json& record, const std::filesystem::path& base, const FormatOptions& options) {
  Sample sample;
  sample.kind = SampleKind::conversation;
  sample.image = resolve_image(require_text(require_field(record, "image"), "image"), base, options.check_images);
  const nlohmann::json& turns = require_field(record, "conversations");
  if (!turns.is_array()) throw BadRecord("'conversations' is not an array");
  if (turns.size() < 2 || turns.size() % 2 != 0)
    throw BadRecord("'conversations' has " + std::to_string(turns.size()) + " turns, expected human/gpt pairs");
  for (size_t i = 0; i < turns.size(); i += 2) {
    Turn turn{turn_text(turns[i], i, "human"), turn_text(turns[i + 1], i + 1, "gpt")};
    if (i == 0) {
      sample.image_first = strip_placeholder(turn.user);
      if (turn.user.find_first_not_of(" \t\r\n") == std::string::npos)
        throw BadRecord("conversations[0].value is empty without the <image> placeholder");
    } else if (turn.user.find(kImagePlaceholder) != std::string::npos) {
      throw BadRecord("conversations[" + std::to_string(i) + "] has an <image> placeholder (only the first may)");
    }
    if (turn.assistant.find(kImagePlaceholder) != std::string::npos)
      throw BadRecord("conversations[" + std::to_string(i + 1) + "] has an <image> placeholder (only the first may)");
    sample.turns.push_back(std::move(turn));
  }
  return sample;
}

}  // namespace

std::vector<Sample> read_llava(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log) {
  const nlohmann::json root = read_json_file(path);
  if (!root.is_array()) throw std::runtime_error(path.string() + ": not a LLaVA file (not a JSON array)");
  const std::filesystem::path base = image_base(path, options.image_root);
  std::vector<Sample> samples;
  for (size_t i = 0; i < root.size(); ++i) {
    const std::string where = path.string() + ": [" + std::to_string(i) + "]";
    try {
      Sample sample = read_record(root[i], base, options);
      const auto id = root[i].find("id");
      sample.source =
          id == root[i].end() ? where : where + " (id " + (id->is_string() ? id->get<std::string>() : id->dump()) + ")";
      samples.push_back(std::move(sample));
      log.accept();
    } catch (const BadRecord& e) {
      log.skip(where, e.what());
    }
  }
  return samples;
}

}  // namespace hanvit::data
