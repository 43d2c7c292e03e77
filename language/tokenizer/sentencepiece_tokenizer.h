// A Tokenizer over a SentencePiece model (tokenizer.model), loaded with sentencepiece::SentencePieceProcessor.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>

#include "language/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace hanvit::language {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `path` is a tokenizer.model file or a folder holding one. A missing, unreadable or corrupt model
  // throws std::runtime_error naming the file.
  explicit SentencePieceTokenizer(const std::filesystem::path& path);
  // A model held in memory (the serialized ModelProto); `name` is used in errors.
  static SentencePieceTokenizer from_serialized(const std::string& model_bytes, const std::string& name);
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;

  int32_t vocab_size() const override;
  int32_t piece_to_id(std::string_view piece) const override;
  // The model's score of an id in [0, vocab_size()) (log probability for unigram, merge rank for BPE).
  float score(int32_t id) const;
  // The pieces of `text` as SentencePiece segments it (for debugging; specials handled as in encode).
  std::vector<std::string> encode_pieces(std::string_view text, SpecialText specials) const;

 protected:
  std::vector<int32_t> encode_valid(std::string_view text, SpecialText specials) const override;
  std::string decode_valid(std::span<const int32_t> ids, SpecialDecode specials) const override;
  std::string piece_of_valid(int32_t id) const override;

 private:
  SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor, const std::string& name);
  static SentencePieceTokenizer load(const std::filesystem::path& file);

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::string name_;
  // Id of the byte-fallback piece <0xXX> of each byte value, -1 when the model has no byte fallback.
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace hanvit::language
