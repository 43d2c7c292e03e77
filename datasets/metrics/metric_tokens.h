// Tokenisation of texts for the caption metrics: whitespace-separated words, or one token per character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hanvit::data {

// One tokenised text; no token is empty or contains whitespace.
using Tokens = std::vector<std::string>;

enum class TokenMode {
  whitespace,  // words between runs of whitespace (Korean eojeol), as Python's str.split()
  character,   // every non-whitespace code point is a token, as sacrebleu's tokenize="char"
};

// Whether a code point is whitespace for Python's str.split()/str.strip(): the ASCII separators
// \t \n \v \f \r, U+001C..U+001F and space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F and U+3000.
bool is_metric_space(char32_t c);

// Throws std::invalid_argument "<where>: invalid UTF-8 at byte N" for ill-formed text.
Tokens metric_tokens(std::string_view text, TokenMode mode, std::string_view where = "text");

// `text` without leading and trailing whitespace (is_metric_space); text must be valid UTF-8.
std::string trim_metric_space(std::string_view text);

}  // namespace hanvit::data
