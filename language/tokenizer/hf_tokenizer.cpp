// HfTokenizer's pipeline: added tokens cut out, normalization, pre-tokenization, BPE per word; the template
// of the post-processor; byte-level or Metaspace decoding, invalid UTF-8 replaced as the Hugging Face library does.
#include "language/tokenizer/hf_tokenizer.h"

#include "datasets/text/utf8.h"
#include "language/tokenizer/byte_level.h"

namespace hanvit::language {
namespace {

// Length of the ill-formed sequence at the start of `bytes`: its longest prefix that could begin a
// well-formed one (at least one byte), replaced by a single U+FFFD (Unicode's "maximal subpart" practice).
size_t ill_formed_length(std::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  size_t continuation_bytes = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation_bytes = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation_bytes = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation_bytes = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  }
  size_t length = 1;
  while (length <= continuation_bytes && length < bytes.size()) {
    const auto byte = static_cast<unsigned char>(bytes[length]);
    if (byte < low || byte > high) break;
    low = 0x80;
    high = 0xBF;
    ++length;
  }
  return length;
}

// `bytes` as UTF-8, each ill-formed sequence replaced by U+FFFD.
std::string replace_ill_formed(std::string_view bytes) {
  std::string out;
  while (const auto bad = text::first_invalid_utf8(bytes)) {
    out += bytes.substr(0, *bad);
    out += "\xEF\xBF\xBD";
    bytes.remove_prefix(*bad + ill_formed_length(bytes.substr(*bad)));
  }
  out += bytes;
  return out;
}

// Metaspace: spaces become the replacement character, one is put first as `step.prepend` says, and the piece
// is cut before each replacement character (which starts the next word).
void split_metaspace(const std::string& piece, const HfTokenizer::PreTokenizerStep& step, bool at_text_start,
                     std::vector<std::string>& out) {
  std::string replaced;
  for (char c : piece) {
    if (c == ' ') {
      replaced += step.replacement;
    } else {
      replaced += c;
    }
  }
  const bool prepend =
      step.prepend == HfTokenizer::Prepend::always || (step.prepend == HfTokenizer::Prepend::first && at_text_start);
  if (prepend && !replaced.starts_with(step.replacement)) replaced.insert(0, step.replacement);
  if (!step.split) {
    out.push_back(std::move(replaced));
    return;
  }
  size_t start = 0;
  for (size_t at = replaced.find(step.replacement, 1); at != std::string::npos;
       at = replaced.find(step.replacement, at + 1)) {
    out.push_back(replaced.substr(start, at - start));
    start = at;
  }
  out.push_back(replaced.substr(start));
}

}  // namespace

HfTokenizer::HfTokenizer(BpeModel model, std::string name) : model_(std::move(model)), name_(std::move(name)) {}

int32_t HfTokenizer::vocab_size() const { return vocab_size_; }

int32_t HfTokenizer::piece_to_id(std::string_view piece) const {
  if (const AddedToken* token = added_.by_content(piece)) return token->id;
  return model_.token_to_id(piece);
}

std::string HfTokenizer::piece_of_valid(int32_t id) const {
  if (const AddedToken* token = added_.by_id(id)) return token->content;
  const std::string* token = model_.id_to_token(id);
  return token ? *token : std::string();
}

std::string HfTokenizer::normalize(std::string_view text) const {
  std::string normalized(text);
  for (unicode::NormalizationForm form : normalizers_) normalized = unicode::normalize(normalized, form);
  return normalized;
}

std::vector<std::string> HfTokenizer::pre_tokenize(std::string text, bool at_text_start) const {
  std::vector<std::string> pieces{std::move(text)};
  for (const PreTokenizerStep& step : pre_tokenizer_) {
    std::vector<std::string> next;
    for (size_t index = 0; index < pieces.size(); ++index) {
      std::string& piece = pieces[index];
      switch (step.kind) {
        case PreTokenizerKind::split:
          for (std::string_view part : split_by_pattern(piece, step.pattern)) next.emplace_back(part);
          break;
        case PreTokenizerKind::byte_level:
          if (step.add_prefix_space && piece.front() != ' ') piece.insert(piece.begin(), ' ');
          if (!step.use_regex) {
            next.push_back(bytes_to_byte_level(piece));
            break;
          }
          for (std::string_view part : split_by_pattern(piece, SplitPattern::gpt2)) {
            next.push_back(bytes_to_byte_level(part));
          }
          break;
        case PreTokenizerKind::metaspace:
          split_metaspace(piece, step, at_text_start && index == 0, next);
          break;
      }
    }
    pieces = std::move(next);
  }
  return pieces;
}

std::vector<int32_t> HfTokenizer::encode_valid(std::string_view text, SpecialText specials) const {
  // Literal mode reads the special added tokens and Hanvit's role spellings as the characters they are made of.
  const auto usable = [&](const AddedToken& token) {
    return specials == SpecialText::parse || (!token.special && !special_.is_special(token.id));
  };
  std::vector<int32_t> ids;
  std::vector<TextPiece> raw_pieces;
  added_.split(text, /*normalized_tokens=*/false, usable, raw_pieces);
  for (size_t raw_index = 0; raw_index < raw_pieces.size(); ++raw_index) {
    const TextPiece& raw = raw_pieces[raw_index];
    if (raw.added_id >= 0) {
      ids.push_back(raw.added_id);
      continue;
    }
    if (raw.text.empty()) continue;
    std::vector<TextPiece> pieces;
    added_.split(normalize(raw.text), /*normalized_tokens=*/true, usable, pieces);
    for (size_t index = 0; index < pieces.size(); ++index) {
      const TextPiece& piece = pieces[index];
      if (piece.added_id >= 0) {
        ids.push_back(piece.added_id);
      } else if (!piece.text.empty()) {
        for (const std::string& word : pre_tokenize(piece.text, raw_index == 0 && index == 0)) {
          model_.encode_word(word, ids);
        }
      }
    }
  }
  return ids;
}

std::vector<int32_t> HfTokenizer::post_process(std::span<const int32_t> ids) const {
  if (template_.empty()) return {ids.begin(), ids.end()};
  std::vector<int32_t> out;
  for (const TemplatePart& part : template_) {
    if (part.is_sequence) {
      out.insert(out.end(), ids.begin(), ids.end());
    } else {
      out.insert(out.end(), part.special_ids.begin(), part.special_ids.end());
    }
  }
  return out;
}

bool HfTokenizer::is_skipped_in_decode(int32_t id) const {
  const AddedToken* token = added_.by_id(id);
  return (token != nullptr && token->special) || special_.is_special(id);
}

std::string HfTokenizer::decode_token(const std::string& token, bool first) const {
  std::string text;
  const bool drop_replacement = first && decoder_.prepend != Prepend::never;
  for (size_t at = 0; at < token.size();) {
    if (token.compare(at, decoder_.replacement.size(), decoder_.replacement) == 0) {
      if (!drop_replacement) text += ' ';
      at += decoder_.replacement.size();
    } else {
      text += token[at++];
    }
  }
  return text;
}

std::string HfTokenizer::decode_valid(std::span<const int32_t> ids, SpecialDecode specials) const {
  std::string bytes;
  bool first = true;
  for (int32_t id : ids) {
    if (specials == SpecialDecode::skip && is_skipped_in_decode(id)) continue;
    const AddedToken* added = added_.by_id(id);
    const std::string* token = added != nullptr ? &added->content : model_.id_to_token(id);
    if (token == nullptr) continue;
    if (decoder_.metaspace) {
      bytes += decode_token(*token, first);
    } else if (!append_byte_level_bytes(*token, bytes)) {
      // A token whose characters are all in the byte-level alphabet stands for their bytes; any other (an
      // added token such as "<|user|> " or "사진") for its own text.
      bytes += *token;
    }
    first = false;
  }
  return replace_ill_formed(bytes);
}

}  // namespace hanvit::language
