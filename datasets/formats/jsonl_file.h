// Line-by-line reading of JSON Lines files: each line validated as UTF-8 and parsed, bad lines reported with file:line.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/formats/record_log.h"

namespace hanvit::data {

// One parsed line; where = "<path>:<line>" (1-based line numbers, as editors show them).
struct JsonlRecord {
  const nlohmann::json& value;
  const std::string& where;
};

// Calls on_line(line, where) for each non-blank line of a text file that is valid UTF-8 (a trailing
// '\r' dropped; where = "<path>:<line>"); other lines go to log.skip. A file that cannot be opened
// throws std::runtime_error naming it.
void read_text_lines(const std::filesystem::path& path, RecordLog& log,
                     const std::function<void(std::string& line, const std::string& where)>& on_line);

// Calls on_record for each non-blank line that is valid UTF-8 and valid JSON; other lines go to
// log.skip(where, reason) (which throws when the log is strict). on_record may itself call
// log.skip for a record whose fields are wrong, or log.accept. A file that cannot be opened
// throws std::runtime_error naming it.
void read_jsonl(const std::filesystem::path& path, RecordLog& log,
                const std::function<void(const JsonlRecord&)>& on_record);

// Reads a whole JSON document (UTF-8 checked); throws std::runtime_error "<path>: <reason>".
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace hanvit::data
