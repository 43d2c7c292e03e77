// Strict JSON parsing for untrusted files: UTF-8 checked, bounded nesting, no duplicate keys.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hanvit {

// Deeper documents are rejected before they are built: destroying or printing one recurses.
constexpr int kMaxJsonDepth = 128;

// Parses `text` as one JSON value. Throws std::invalid_argument "<subject> <problem>", e.g.
// "safetensors 'a.st': header has duplicate key 'w'", when the text is not valid UTF-8, not valid
// JSON, nests deeper than kMaxJsonDepth, or repeats a key within one object (nlohmann's own
// parser would silently keep the last value).
nlohmann::json parse_json_strict(std::string_view text, const std::string& subject);

// Reads the file at `path` (at most `max_bytes`) and parses it with parse_json_strict. Throws
// std::invalid_argument "<subject> <problem>" for a missing, unreadable, oversized or malformed file.
nlohmann::json read_json_file_strict(const std::string& path, const std::string& subject,
                                     size_t max_bytes = size_t{64} << 20);

}  // namespace hanvit
