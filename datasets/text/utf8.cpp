// UTF-8 validation, decoding and encoding (RFC 3629 well-formedness).
#include "datasets/text/utf8.h"

#include <stdexcept>

namespace hanvit::text {
namespace {

// Length of the well-formed sequence starting at bytes[i], or 0 when it is ill-formed.
size_t sequence_length(std::string_view bytes, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // no overlongs
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // no overlongs
    if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > bytes.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  return length;
}

char32_t decode_at(std::string_view bytes, size_t i, size_t length) {
  const auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(bytes[k])); };
  if (length == 1) return byte(i);
  char32_t cp = byte(i) & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(i + k) & 0x3f);
  return cp;
}

}  // namespace

std::optional<size_t> first_invalid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t length = sequence_length(bytes, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

void require_valid_utf8(std::string_view bytes, std::string_view where) {
  if (const auto at = first_invalid_utf8(bytes))
    throw std::runtime_error(std::string(where) + ": invalid UTF-8 at byte " + std::to_string(*at));
}

std::u32string decode_utf8(std::string_view bytes) {
  require_valid_utf8(bytes, "text");
  std::u32string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t length = sequence_length(bytes, i);
    out.push_back(decode_at(bytes, i, length));
    i += length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    throw std::invalid_argument("append_utf8: U+" + std::to_string(static_cast<uint32_t>(cp)) +
                                " is not a Unicode scalar value");
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size() * 3);
  for (char32_t cp : code_points) append_utf8(out, cp);
  return out;
}

std::vector<std::string> utf8_characters(std::string_view bytes) {
  require_valid_utf8(bytes, "text");
  std::vector<std::string> out;
  for (size_t i = 0; i < bytes.size();) {
    const size_t length = sequence_length(bytes, i);
    out.emplace_back(bytes.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace hanvit::text
