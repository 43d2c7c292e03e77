// UAX #15 normalization: recursive decomposition from the generated tables, stable canonical ordering,
// canonical composition with the blocking rule; Hangul syllables (de)composed arithmetically (Unicode ch. 3.12).
#include "language/tokenizer/unicode_normalization.h"

#include <algorithm>
#include <optional>

#include "datasets/text/utf8.h"
#include "language/tokenizer/unicode_data.h"

namespace hanvit::language::unicode {
namespace {

constexpr char32_t kSyllableBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kLeadCount = 19, kVowelCount = 21, kTrailCount = 28;
constexpr char32_t kSyllableCount = kLeadCount * kVowelCount * kTrailCount;

uint8_t combining_class(char32_t c) {
  if (c < 0x300) return 0;
  const auto ranges = combining_class_ranges();
  const auto after =
      std::upper_bound(ranges.begin(), ranges.end(), c,
                       [](char32_t value, const CombiningClassRange& range) { return value < range.first; });
  if (after == ranges.begin() || c > std::prev(after)->last) return 0;
  return std::prev(after)->combining_class;
}

void decompose(char32_t c, bool compatibility, std::u32string& out) {
  if (c >= kSyllableBase && c < kSyllableBase + kSyllableCount) {
    const char32_t index = c - kSyllableBase;
    out += kLeadBase + index / (kVowelCount * kTrailCount);
    out += kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount;
    if (index % kTrailCount != 0) out += kTrailBase + index % kTrailCount;
    return;
  }
  const auto table = decompositions();
  const auto found = std::lower_bound(table.begin(), table.end(), c, [](const Decomposition& entry, char32_t value) {
    return entry.code_point < value;
  });
  if (found == table.end() || found->code_point != c || (found->compatibility && !compatibility)) {
    out += c;
    return;
  }
  for (char32_t part : decomposition_code_points().subspan(found->start, found->length)) {
    decompose(part, compatibility, out);
  }
}

// Sorts each run of non-starters by combining class, keeping the order of equal classes.
void order_canonically(std::u32string& text) {
  size_t start = 0;
  while (start < text.size()) {
    if (combining_class(text[start]) == 0) {
      ++start;
      continue;
    }
    size_t end = start;
    while (end < text.size() && combining_class(text[end]) != 0) ++end;
    std::stable_sort(text.begin() + start, text.begin() + end,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    start = end;
  }
}

std::optional<char32_t> compose_pair(char32_t first, char32_t second) {
  if (first >= kLeadBase && first < kLeadBase + kLeadCount && second >= kVowelBase &&
      second < kVowelBase + kVowelCount) {
    return kSyllableBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
  }
  if (first >= kSyllableBase && first < kSyllableBase + kSyllableCount && (first - kSyllableBase) % kTrailCount == 0 &&
      second > kTrailBase && second < kTrailBase + kTrailCount) {
    return first + (second - kTrailBase);
  }
  const auto table = compositions();
  const auto found = std::lower_bound(table.begin(), table.end(), std::pair{first, second},
                                      [](const Composition& entry, std::pair<char32_t, char32_t> key) {
                                        return std::pair{entry.first, entry.second} < key;
                                      });
  if (found == table.end() || found->first != first || found->second != second) return std::nullopt;
  return found->composite;
}

// Canonical composition in place: a character joins the last starter unless a character between them is a
// starter or has a combining class at least its own (it is blocked).
void compose(std::u32string& text) {
  if (text.empty()) return;
  size_t starter = 0;
  int last_class = combining_class(text[0]) == 0 ? 0 : 256;
  size_t written = 1;
  for (size_t read = 1; read < text.size(); ++read) {
    const char32_t c = text[read];
    const int c_class = combining_class(c);
    const auto composite = compose_pair(text[starter], c);
    if (composite && (last_class < c_class || last_class == 0)) {
      text[starter] = *composite;
      continue;
    }
    if (c_class == 0) starter = written;
    last_class = c_class;
    text[written++] = c;
  }
  text.resize(written);
}

}  // namespace

std::string normalize(std::string_view text, NormalizationForm form) {
  const bool ascii =
      std::all_of(text.begin(), text.end(), [](char byte) { return static_cast<unsigned char>(byte) < 0x80; });
  if (ascii) return std::string(text);
  const bool compatibility = form == NormalizationForm::nfkc || form == NormalizationForm::nfkd;
  std::u32string decomposed;
  for (char32_t c : text::decode_utf8(text)) decompose(c, compatibility, decomposed);
  order_canonically(decomposed);
  if (form == NormalizationForm::nfc || form == NormalizationForm::nfkc) compose(decomposed);
  return text::encode_utf8(decomposed);
}

}  // namespace hanvit::language::unicode
