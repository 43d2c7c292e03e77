// JSON Lines and JSON file reading with UTF-8 validation and file:line error reports.
#include "datasets/formats/jsonl_file.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "datasets/text/utf8.h"

namespace hanvit::data {

void read_text_lines(const std::filesystem::path& path, RecordLog& log,
                     const std::function<void(std::string& line, const std::string& where)>& on_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    if (const auto bad = text::first_invalid_utf8(line)) {
      log.skip(where, "invalid UTF-8 at byte " + std::to_string(*bad));
      continue;
    }
    on_line(line, where);
  }
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
}

void read_jsonl(const std::filesystem::path& path, RecordLog& log,
                const std::function<void(const JsonlRecord&)>& on_record) {
  read_text_lines(path, log, [&](std::string& line, const std::string& where) {
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      log.skip(where, "not valid JSON");
      return;
    }
    on_record(JsonlRecord{value, where});
  });
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  text::require_valid_utf8(bytes, path.string());
  try {
    return nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
}

}  // namespace hanvit::data
