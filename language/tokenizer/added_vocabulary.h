// The added tokens of a tokenizer.json (specials such as <|endoftext|> and user-added words), found in text
// before pre-tokenization as the Hugging Face library finds them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hanvit::language {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;  // only where no word character (letter, number, '_') touches it
  bool lstrip = false;       // takes the white space before it
  bool rstrip = false;       // takes the white space after it
  bool normalized = false;   // matched in the normalized text (else in the raw text)
  bool special = false;      // dropped by decode with SpecialDecode::skip
};

// A stretch of text after the added tokens are cut out: an added token (id >= 0) or text to encode.
struct TextPiece {
  std::string text;
  int32_t added_id = -1;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalize` gives the contents of the normalized tokens their matching form.
  AddedVocabulary(std::vector<AddedToken> tokens, const std::function<std::string(std::string_view)>& normalize);

  // Appends the pieces of `text`: the matches of the tokens whose `normalized` flag is `normalized_tokens`
  // (leftmost, then longest, scanning on after each), and the text between them. A match of a token that
  // `usable` refuses is left as text; so is a single_word token touching a word.
  void split(std::string_view text, bool normalized_tokens, const std::function<bool(const AddedToken&)>& usable,
             std::vector<TextPiece>& out) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  // The added token with this id / content, nullptr when none.
  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;

 private:
  struct Match {
    size_t start;
    size_t end;
    const AddedToken* token;
  };
  // The leftmost-longest match at or after `from` among the tokens of one kind, token nullptr when none.
  Match find(std::string_view text, size_t from, bool normalized_tokens) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> index_of_id_;
  std::unordered_map<std::string, size_t> index_of_content_;
  // Per kind (raw, normalized) and first byte: the spellings to match, longest first, with their token index.
  std::vector<std::pair<std::string, size_t>> patterns_[2][256];
};

}  // namespace hanvit::language
