// The byte <-> character tables of the byte-level alphabet, built once.
#include "language/tokenizer/byte_level.h"

#include <array>

#include "datasets/text/utf8.h"

namespace hanvit::language {
namespace {

constexpr char32_t kAlphabetEnd = 0x144;  // 256 + the 68 bytes that do not stand for themselves

struct ByteLevelTables {
  std::array<std::string, 256> spelling;    // byte -> UTF-8 of its character
  std::array<int, kAlphabetEnd> byte_of{};  // character -> byte, -1 outside the alphabet

  ByteLevelTables() {
    byte_of.fill(-1);
    char32_t next_extra = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      const char32_t c = printable ? static_cast<char32_t>(byte) : next_extra++;
      text::append_utf8(spelling[byte], c);
      byte_of[c] = byte;
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables instance;
  return instance;
}

}  // namespace

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& spelling = tables().spelling;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) out += spelling[byte];
  return out;
}

bool append_byte_level_bytes(std::string_view token, std::string& out) {
  const auto& byte_of = tables().byte_of;
  const size_t start = out.size();
  for (char32_t c : text::decode_utf8(token)) {
    if (c >= kAlphabetEnd || byte_of[c] < 0) {
      out.resize(start);
      return false;
    }
    out += static_cast<char>(byte_of[c]);
  }
  return true;
}

}  // namespace hanvit::language
