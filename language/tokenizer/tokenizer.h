// The tokenizer interface every Hanvit vocabulary implements (SentencePiece models, later Hugging Face tokenizer.json).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "language/tokenizer/special_tokens.h"

namespace hanvit::language {

// What encode does with the spellings of <image>, <|system|>, <|user|> and <|assistant|> found in the text.
//   literal: they are ordinary text (encoded as the bytes of their characters), so user text can never
//            forge a special token; decode gives the spelling back.
//   parse:   each becomes its special id (for prompts built by Hanvit itself, e.g. "<|user|>질문<image>").
// <pad>, <unk>, <s> and </s> are never read from text in either mode: callers add BOS/EOS/PAD by id.
enum class SpecialText { literal, parse };

// What decode does with special ids: skip drops them, keep writes their spellings.
enum class SpecialDecode { skip, keep };

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Ids of `text` (UTF-8), without BOS/EOS. Throws std::invalid_argument "text: invalid UTF-8 at byte N".
  std::vector<int32_t> encode(std::string_view text, SpecialText specials = SpecialText::literal) const;
  // Text of `ids`. Throws std::invalid_argument "token id N is out of range [0, V)".
  std::string decode(std::span<const int32_t> ids, SpecialDecode specials = SpecialDecode::skip) const;

  virtual int32_t vocab_size() const = 0;
  // The piece of an id in [0, vocab_size()) as the vocabulary spells it (throws std::invalid_argument otherwise).
  std::string id_to_piece(int32_t id) const;
  // The id of a piece, -1 when the vocabulary lacks it.
  virtual int32_t piece_to_id(std::string_view piece) const = 0;
  const SpecialTokenIds& special() const { return special_; }

 protected:
  // Called with valid UTF-8 / with ids already checked against vocab_size().
  virtual std::vector<int32_t> encode_valid(std::string_view text, SpecialText specials) const = 0;
  virtual std::string decode_valid(std::span<const int32_t> ids, SpecialDecode specials) const = 0;
  virtual std::string piece_of_valid(int32_t id) const = 0;

  SpecialTokenIds special_;

 private:
  void check_id(int32_t id) const;
};

}  // namespace hanvit::language
