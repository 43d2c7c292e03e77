// Added-token matching: leftmost-longest search by first byte, single_word / lstrip / rstrip as the Hugging
// Face library applies them.
#include "language/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "datasets/text/utf8.h"
#include "language/tokenizer/unicode_classes.h"

namespace hanvit::language {
namespace {

bool is_word_character(char32_t c) { return c == '_' || unicode::is_letter(c) || unicode::is_number(c); }

char32_t last_character(std::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return text::decode_utf8(text.substr(start)).front();
}

char32_t first_character(std::string_view text) {
  size_t end = 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return text::decode_utf8(text.substr(0, end)).front();
}

// Start of the white space that ends text[0, end).
size_t white_space_start(std::string_view text, size_t end) {
  while (end > 0 && unicode::is_white_space(last_character(text.substr(0, end)))) {
    --end;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  }
  return end;
}

// End of the white space that starts text[start, size).
size_t white_space_end(std::string_view text, size_t start) {
  while (start < text.size() && unicode::is_white_space(first_character(text.substr(start)))) {
    ++start;
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  }
  return start;
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens,
                                 const std::function<std::string(std::string_view)>& normalize)
    : tokens_(std::move(tokens)) {
  for (size_t index = 0; index < tokens_.size(); ++index) {
    const AddedToken& token = tokens_[index];
    index_of_id_[token.id] = index;
    index_of_content_[token.content] = index;
    const std::string spelling = token.normalized ? normalize(token.content) : token.content;
    if (spelling.empty()) continue;
    patterns_[token.normalized][static_cast<unsigned char>(spelling[0])].emplace_back(spelling, index);
  }
  for (auto& kind : patterns_) {
    for (auto& bucket : kind) {
      std::stable_sort(bucket.begin(), bucket.end(),
                       [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
  }
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  const auto found = index_of_id_.find(id);
  return found == index_of_id_.end() ? nullptr : &tokens_[found->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  const auto found = index_of_content_.find(std::string(content));
  return found == index_of_content_.end() ? nullptr : &tokens_[found->second];
}

AddedVocabulary::Match AddedVocabulary::find(std::string_view text, size_t from, bool normalized_tokens) const {
  for (size_t start = from; start < text.size(); ++start) {
    for (const auto& [spelling, index] : patterns_[normalized_tokens][static_cast<unsigned char>(text[start])]) {
      if (text.compare(start, spelling.size(), spelling) == 0) return {start, start + spelling.size(), &tokens_[index]};
    }
  }
  return {text.size(), text.size(), nullptr};
}

void AddedVocabulary::split(std::string_view text, bool normalized_tokens,
                            const std::function<bool(const AddedToken&)>& usable, std::vector<TextPiece>& out) const {
  size_t emitted = 0;  // text before this is in `out`
  size_t from = 0;     // where the search goes on
  while (true) {
    const Match match = find(text, from, normalized_tokens);
    if (match.token == nullptr) break;
    from = match.end;
    const AddedToken& token = *match.token;
    if (!usable(token)) continue;
    if (token.single_word &&
        ((match.start > 0 && is_word_character(last_character(text.substr(0, match.start)))) ||
         (match.end < text.size() && is_word_character(first_character(text.substr(match.end)))))) {
      continue;
    }
    const size_t start = token.lstrip ? std::max(white_space_start(text, match.start), emitted) : match.start;
    const size_t end = token.rstrip ? white_space_end(text, match.end) : match.end;
    if (emitted < start) out.push_back({std::string(text.substr(emitted, start - emitted)), -1});
    out.push_back({std::string(text.substr(start, end - start)), token.id});
    emitted = end;
    from = end;
  }
  if (emitted < text.size() || text.empty()) out.push_back({std::string(text.substr(emitted)), -1});
}

}  // namespace hanvit::language
