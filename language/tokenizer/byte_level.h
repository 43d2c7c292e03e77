// GPT-2's byte-level alphabet: each of the 256 byte values spelled as one printable character, and back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hanvit::language {

// The UTF-8 of the characters standing for `bytes` (printable ASCII and Latin-1 bytes stand for themselves,
// the others for U+0100 + n in byte order: space is "Ġ", newline "Ċ").
std::string bytes_to_byte_level(std::string_view bytes);

// Appends the bytes that the characters of `token` (valid UTF-8) stand for; false, leaving `out` as it
// was, when a character is outside the alphabet.
bool append_byte_level_bytes(std::string_view token, std::string& out);

}  // namespace hanvit::language
