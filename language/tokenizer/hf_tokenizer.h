// A Tokenizer over a Hugging Face tokenizer.json with a BPE model: byte-level (GPT-2, LLaMA-3) or Metaspace (KoGPT2).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "language/tokenizer/added_vocabulary.h"
#include "language/tokenizer/bpe_model.h"
#include "language/tokenizer/pretokenizer.h"
#include "language/tokenizer/tokenizer.h"
#include "language/tokenizer/unicode_normalization.h"

namespace hanvit::language {

// What a tokenizer.json may hold (anything else is refused with an error naming the file and the field):
//   normalizer      null, NFC, NFD, NFKC, NFKD, or a Sequence of these
//   pre_tokenizer   ByteLevel (add_prefix_space, use_regex), Split with the GPT-2 or cl100k regex (Isolated,
//                   not inverted), Metaspace (KoGPT2, SentencePiece-style BPE), or a Sequence of these
//   model           BPE: vocab, merges ("a b" strings or [a, b] lists), ignore_merges, unk_token, fuse_unk,
//                   byte_fallback (no dropout, no subword prefix / suffix)
//   post_processor  null, ByteLevel, TemplateProcessing (its single-sequence template), or a Sequence of these
//   decoder         ByteLevel or Metaspace
//   added_tokens    matched in text before pre-tokenization (leftmost-longest; single_word, lstrip, rstrip,
//                   normalized as the Hugging Face library applies them)
// Special ids: bos/eos/pad/unk from tokenizer_config.json (bos_token, ...) when it names them, else from the
// usual spellings (<|begin_of_text|>, <s>, ...); image/system/user/assistant from added tokens spelled as
// Hanvit spells them.
//
// encode with SpecialText::parse gives the ids of the Hugging Face library's encode(text,
// add_special_tokens=False); with SpecialText::literal the special added tokens (and Hanvit's role
// spellings) are read as plain text (the library's encode_special_tokens), non-special added tokens still
// match. decode with SpecialDecode::skip drops the special added tokens and the special ids.
class HfTokenizer final : public Tokenizer {
 public:
  // `path` is a tokenizer.json file or a folder holding one; tokenizer_config.json beside it is read when
  // present. Missing files, malformed JSON and unsupported components throw std::invalid_argument naming
  // the file.
  explicit HfTokenizer(const std::filesystem::path& path);
  // From the texts of a tokenizer.json and a tokenizer_config.json (nullopt when there is none); `name`
  // is used in errors.
  static HfTokenizer from_json(std::string_view tokenizer_json, const std::optional<std::string>& config_json,
                               const std::string& name);

  int32_t vocab_size() const override;
  int32_t piece_to_id(std::string_view piece) const override;

  // `ids` inside the post-processor's template, as the library's add_special_tokens=True adds them (LLaMA-3:
  // <|begin_of_text|> first); `ids` unchanged when the tokenizer has no template.
  std::vector<int32_t> post_process(std::span<const int32_t> ids) const;

  // The parts of a tokenizer.json's pipeline as read.
  enum class PreTokenizerKind { split, byte_level, metaspace };
  // Where Metaspace puts a replacement character before a piece that has none: every piece, only the piece
  // at the start of the text, or none.
  enum class Prepend { always, first, never };
  struct PreTokenizerStep {
    PreTokenizerKind kind = PreTokenizerKind::split;
    SplitPattern pattern = SplitPattern::gpt2;  // split: cut into the pattern's matches
    bool add_prefix_space = false;              // byte_level: a space before each piece that has none
    bool use_regex = false;                     // byte_level: split by the GPT-2 pattern first
    std::string replacement;                    // metaspace: the character spaces become ("▁")
    Prepend prepend = Prepend::always;          // metaspace
    bool split = true;                          // metaspace: cut before each replacement character
  };
  // The decoder: ByteLevel, or Metaspace (replacement characters back to spaces, none in the first token
  // unless prepend is never).
  struct Decoder {
    bool metaspace = false;
    std::string replacement;
    Prepend prepend = Prepend::always;
  };
  // One entry of the single-sequence template: a run of special ids, or the sequence itself (empty ids).
  struct TemplatePart {
    std::vector<int32_t> special_ids;
    bool is_sequence = false;
  };

 protected:
  std::vector<int32_t> encode_valid(std::string_view text, SpecialText specials) const override;
  std::string decode_valid(std::span<const int32_t> ids, SpecialDecode specials) const override;
  std::string piece_of_valid(int32_t id) const override;

 private:
  HfTokenizer(BpeModel model, std::string name);
  std::string normalize(std::string_view text) const;
  // The words of one piece of text; `at_text_start` when the piece begins the encoded text.
  std::vector<std::string> pre_tokenize(std::string text, bool at_text_start) const;
  std::string decode_token(const std::string& token, bool first) const;
  bool is_skipped_in_decode(int32_t id) const;

  BpeModel model_;
  std::string name_;
  AddedVocabulary added_;
  std::vector<unicode::NormalizationForm> normalizers_;
  std::vector<PreTokenizerStep> pre_tokenizer_;
  std::vector<TemplatePart> template_;
  Decoder decoder_;
  int32_t vocab_size_ = 0;
};

}  // namespace hanvit::language
