// Matchers for the GPT-2 and cl100k split regexes: each tries the regex's alternatives in order at one
// position and returns where the match ends, backtracking the greedy runs as the regex engine would.
#include "language/tokenizer/pretokenizer.h"

#include <stdexcept>

#include "datasets/text/utf8.h"
#include "language/tokenizer/unicode_classes.h"

namespace hanvit::language {
namespace {

using unicode::is_letter;
using unicode::is_number;
using unicode::is_white_space;

constexpr std::string_view kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kCl100kRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool is_other(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }  // [^\s\p{L}\p{N}]
bool is_line_break(char32_t c) { return c == '\r' || c == '\n'; }
size_t utf8_length(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// The code points of one text; every matcher reads them from a start index and returns the end index.
class Matcher {
 public:
  explicit Matcher(std::u32string_view chars) : chars_(chars) {}

  size_t gpt2(size_t i) const {
    if (const size_t end = contraction(i, /*ignore_case=*/false)) return end;
    for (auto in_class : {is_letter, is_number, is_other}) {
      if (chars_[i] == ' ' && i + 1 < size() && in_class(chars_[i + 1])) return run_end(i + 1, in_class);
      if (in_class(chars_[i])) return run_end(i, in_class);
    }
    return white_space_not_before_text(i);
  }

  size_t cl100k(size_t i) const {
    if (const size_t end = contraction(i, /*ignore_case=*/true)) return end;
    const char32_t c = chars_[i];
    if (!is_line_break(c) && !is_letter(c) && !is_number(c) && i + 1 < size() && is_letter(chars_[i + 1])) {
      return run_end(i + 1, is_letter);
    }
    if (is_letter(c)) return run_end(i, is_letter);
    if (is_number(c)) return std::min(run_end(i, is_number), i + 3);
    if (c == ' ' && i + 1 < size() && is_other(chars_[i + 1])) return run_end(run_end(i + 1, is_other), is_line_break);
    if (is_other(c)) return run_end(run_end(i, is_other), is_line_break);
    // \s*[\r\n]+ : the white space up to and including its last line break.
    const size_t space_end = run_end(i, is_white_space);
    for (size_t k = space_end; k > i; --k) {
      if (is_line_break(chars_[k - 1])) return k;
    }
    return white_space_not_before_text(i);
  }

 private:
  size_t size() const { return chars_.size(); }

  size_t run_end(size_t i, bool (*in_class)(char32_t)) const {
    while (i < size() && in_class(chars_[i])) ++i;
    return i;
  }

  // 's|'t|'re|'ve|'m|'ll|'d (also matching upper case and the long s when ignoring case): the end, or 0.
  size_t contraction(size_t i, bool ignore_case) const {
    if (chars_[i] != '\'') return 0;
    auto matches = [&](size_t at, char letter) {
      if (at >= size()) return false;
      const char32_t c = chars_[at];
      if (c == static_cast<char32_t>(letter)) return true;
      return ignore_case && (c == static_cast<char32_t>(letter - 'a' + 'A') || (letter == 's' && c == 0x17F));
    };
    for (std::string_view suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
      size_t k = 0;
      while (k < suffix.size() && matches(i + 1 + k, suffix[k])) ++k;
      if (k == suffix.size()) return i + 1 + k;
    }
    return 0;
  }

  // \s+(?!\S)|\s+ at a white space character: the run, less its last character when text follows it
  // (that character then starts the next piece, e.g. " word"), unless the run is that one character.
  size_t white_space_not_before_text(size_t i) const {
    const size_t end = run_end(i, is_white_space);
    return end < size() && end - i >= 2 ? end - 1 : end;
  }

  std::u32string_view chars_;
};

}  // namespace

SplitPattern split_pattern_of(std::string_view regex, std::string_view where) {
  if (regex == kGpt2Regex) return SplitPattern::gpt2;
  if (regex == kCl100kRegex) return SplitPattern::cl100k;
  throw std::invalid_argument(std::string(where) + ": unsupported split regex '" + std::string(regex) +
                              "' (supported: the GPT-2 and the cl100k/LLaMA-3 patterns)");
}

std::vector<std::string_view> split_by_pattern(std::string_view text, SplitPattern pattern) {
  const std::u32string chars = text::decode_utf8(text);
  const Matcher matcher(chars);
  std::vector<std::string_view> pieces;
  size_t byte = 0;
  size_t i = 0;
  while (i < chars.size()) {
    const size_t end = pattern == SplitPattern::gpt2 ? matcher.gpt2(i) : matcher.cl100k(i);
    size_t piece_bytes = 0;
    for (size_t k = i; k < end; ++k) piece_bytes += utf8_length(chars[k]);
    pieces.push_back(text.substr(byte, piece_bytes));
    byte += piece_bytes;
    i = end;
  }
  return pieces;
}

}  // namespace hanvit::language
