// parse_json_strict: UTF-8 pre-check, then nlohmann's parser with a callback that tracks depth and keys.
#include "modules/io/json_strict.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "modules/io/utf8.h"

namespace hanvit {
namespace {

struct TooDeep {};

}  // namespace

nlohmann::json parse_json_strict(std::string_view text, const std::string& subject) {
  using nlohmann::json;
  auto fail = [&](const std::string& problem) { throw std::invalid_argument(subject + " " + problem); };
  size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) fail("is not valid UTF-8 (ill-formed byte at offset " + std::to_string(bad) + ")");

  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      throw TooDeep{};
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == json::parse_event_t::key && duplicate.empty() &&
               !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json value;
  try {
    value = json::parse(text.begin(), text.end(), on_event);
  } catch (const TooDeep&) {
    fail("nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::parse_error& e) {
    std::string message = e.what();
    size_t tag_end = message.find("] ");  // drop the "[json.exception.parse_error.101] " tag
    fail("is not valid JSON: " + (tag_end == std::string::npos ? message : message.substr(tag_end + 2)));
  }
  if (!duplicate.empty()) fail("has duplicate key '" + duplicate + "'");
  return value;
}

nlohmann::json read_json_file_strict(const std::string& path, const std::string& subject, size_t max_bytes) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) throw std::invalid_argument(subject + " is missing (" + path + ")");
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw std::invalid_argument(subject + " cannot be read: " + error.message());
  if (size > max_bytes)
    throw std::invalid_argument(subject + " is " + std::to_string(size) + " bytes, over the limit of " +
                                std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(subject + " cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  return parse_json_strict(text.str(), subject);
}

}  // namespace hanvit
