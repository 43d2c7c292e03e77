// Whitespace and character tokenisation for the metrics.
#include "datasets/metrics/metric_tokens.h"

#include <stdexcept>

#include "datasets/text/utf8.h"

namespace hanvit::data {

bool is_metric_space(char32_t c) {
  if (c == U' ' || (c >= U'\t' && c <= U'\r') || (c >= 0x1C && c <= 0x1F)) return true;
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

namespace {

std::u32string decode_checked(std::string_view text, std::string_view where) {
  if (const auto bad = text::first_invalid_utf8(text)) {
    throw std::invalid_argument(std::string(where) + ": invalid UTF-8 at byte " + std::to_string(*bad));
  }
  return text::decode_utf8(text);
}

}  // namespace

Tokens metric_tokens(std::string_view text, TokenMode mode, std::string_view where) {
  const std::u32string code_points = decode_checked(text, where);
  Tokens tokens;
  std::string current;
  for (const char32_t c : code_points) {
    if (is_metric_space(c)) {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    text::append_utf8(current, c);
    if (mode == TokenMode::character) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::string trim_metric_space(std::string_view text) {
  const std::u32string code_points = decode_checked(text, "text");
  size_t begin = 0, end = code_points.size();
  while (begin < end && is_metric_space(code_points[begin])) ++begin;
  while (end > begin && is_metric_space(code_points[end - 1])) --end;
  return text::encode_utf8(std::u32string_view(code_points).substr(begin, end - begin));
}

}  // namespace hanvit::data
