// Unicode character classes of the tokenizer.json pre-tokenizer regexes: \p{L}, \p{N} and \s (White_Space).
#pragma once

namespace hanvit::language::unicode {

bool is_letter(char32_t c);       // general category L* (\p{L})
bool is_number(char32_t c);       // general category N* (\p{N})
bool is_white_space(char32_t c);  // property White_Space (\s)

}  // namespace hanvit::language::unicode
