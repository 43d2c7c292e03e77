// UTF-8 validation, decoding and encoding: every text that enters Hanvit passes through here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hanvit::text {

// Byte offset of the first byte that is not part of well-formed UTF-8 (overlongs, surrogates,
// code points above U+10FFFF and truncated sequences are ill-formed), or nullopt when all is valid.
std::optional<size_t> first_invalid_utf8(std::string_view bytes);
inline bool is_valid_utf8(std::string_view bytes) { return !first_invalid_utf8(bytes).has_value(); }

// Throws std::runtime_error "<where>: invalid UTF-8 at byte N" when bytes is ill-formed.
void require_valid_utf8(std::string_view bytes, std::string_view where);

// Code points of valid UTF-8 (throws like require_valid_utf8 with where = "text").
std::u32string decode_utf8(std::string_view bytes);
// UTF-8 of one code point / of a sequence (code points must be valid scalar values).
void append_utf8(std::string& out, char32_t code_point);
std::string encode_utf8(std::u32string_view code_points);

// The characters (code points) of valid UTF-8, each as its own UTF-8 string.
std::vector<std::string> utf8_characters(std::string_view bytes);

}  // namespace hanvit::text
