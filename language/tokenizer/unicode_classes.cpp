// Character classes by binary search in the generated range tables, with an ASCII fast path.
#include "language/tokenizer/unicode_classes.h"

#include <algorithm>
#include <span>

#include "language/tokenizer/unicode_data.h"

namespace hanvit::language::unicode {
namespace {

bool in_ranges(std::span<const CodePointRange> ranges, char32_t c) {
  const auto after = std::upper_bound(ranges.begin(), ranges.end(), c,
                                      [](char32_t value, const CodePointRange& range) { return value < range.first; });
  return after != ranges.begin() && c <= std::prev(after)->last;
}

}  // namespace

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(letter_ranges(), c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(number_ranges(), c);
}

bool is_white_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return in_ranges(white_space_ranges(), c);
}

}  // namespace hanvit::language::unicode
