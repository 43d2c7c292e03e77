// Spellings and id lookup of the special tokens.
#include "language/tokenizer/special_tokens.h"

#include <algorithm>

namespace hanvit::language {

std::string_view special_token_spelling(SpecialToken token) {
  return kSpecialTokenSpellings[static_cast<size_t>(token)];
}

bool SpecialTokenIds::is_special(int32_t id) const {
  return id >= 0 && std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace hanvit::language
