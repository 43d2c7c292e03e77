// The two split regexes that byte-level BPE tokenizer.json files use, as hand-written matchers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hanvit::language {

enum class SplitPattern {
  // GPT-2 (the ByteLevel pre-tokenizer's own):
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  gpt2,
  // cl100k / LLaMA-3:
  //   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+
  //   |\s+(?!\S)|\s+
  cl100k,
};

// The pattern whose regex source is `regex`; throws std::invalid_argument naming `where` and the regex for
// any other.
SplitPattern split_pattern_of(std::string_view regex, std::string_view where);

// `text` (valid UTF-8) cut into the pattern's successive matches (they cover the text: every position
// starts one), each match its own piece, as the regex's leftmost-first alternation gives them.
std::vector<std::string_view> split_by_pattern(std::string_view text, SplitPattern pattern);

}  // namespace hanvit::language
