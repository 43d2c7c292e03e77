// The checks every tokenizer shares: UTF-8 of the text to encode, range of the ids to decode.
#include "language/tokenizer/tokenizer.h"

#include <stdexcept>

#include "datasets/text/utf8.h"

namespace hanvit::language {

std::vector<int32_t> Tokenizer::encode(std::string_view text, SpecialText specials) const {
  if (const auto bad = text::first_invalid_utf8(text)) {
    throw std::invalid_argument("text: invalid UTF-8 at byte " + std::to_string(*bad));
  }
  return encode_valid(text, specials);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, SpecialDecode specials) const {
  for (int32_t id : ids) check_id(id);
  return decode_valid(ids, specials);
}

std::string Tokenizer::id_to_piece(int32_t id) const {
  check_id(id);
  return piece_of_valid(id);
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::invalid_argument("token id " + std::to_string(id) + " is out of range [0, " +
                                std::to_string(vocab_size()) + ")");
  }
}

}  // namespace hanvit::language
