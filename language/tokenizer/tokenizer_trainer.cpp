// train_sentencepiece: SentencePieceTrainer fed from memory, its errors reworded into one line.
#include "language/tokenizer/tokenizer_trainer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "language/tokenizer/special_tokens.h"

namespace hanvit::language {
namespace {

// Hands the sentences to the trainer one by one, without copying them to a file.
class MemorySentences final : public sentencepiece::SentenceIterator {
 public:
  explicit MemorySentences(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return next_ >= sentences_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return sentences_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  size_t next_ = 0;
};

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::unordered_map<std::string, std::string> trainer_arguments(const TokenizerTrainOptions& options) {
  std::string user_defined;
  for (SpecialToken token : {SpecialToken::image, SpecialToken::system, SpecialToken::user, SpecialToken::assistant}) {
    if (!user_defined.empty()) user_defined += ',';
    user_defined += special_token_spelling(token);
  }
  return {
      {"model_type", options.model_type == SentencePieceModelType::bpe ? "bpe" : "unigram"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", number(options.character_coverage)},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "2"},
      {"eos_id", "3"},
      {"pad_piece", std::string(special_token_spelling(SpecialToken::pad))},
      {"unk_piece", std::string(special_token_spelling(SpecialToken::unk))},
      {"bos_piece", std::string(special_token_spelling(SpecialToken::bos))},
      {"eos_piece", std::string(special_token_spelling(SpecialToken::eos))},
      {"user_defined_symbols", user_defined},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"normalization_rule_name", "nmt_nfkc"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"num_threads", "1"},
      {"minloglevel", "2"},
  };
}

// SentencePiece's complaints about the vocabulary size, said in one line with what to change.
std::string reword(const std::string& message, const TokenizerTrainOptions& options) {
  const std::string size = std::to_string(options.vocab_size);
  std::smatch match;
  if (std::regex_search(message, match, std::regex(R"(Please set it to a value <= (\d+))"))) {
    return "vocab size " + size + " is too large for the training text (it gives at most " + match[1].str() +
           " pieces): lower the vocab size to " + match[1].str() + " or less, or train on more text";
  }
  if (std::regex_search(message, match, std::regex(R"(smaller than required_chars\. (\d+) vs (\d+))"))) {
    return "vocab size " + size + " is too small: the special tokens, the 256 byte pieces and the characters kept at " +
           "character coverage " + number(options.character_coverage) + " need " + match[2].str() +
           " pieces; raise the vocab size or lower the character coverage";
  }
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  return "SentencePiece training failed: " + line;
}

}  // namespace

std::string train_sentencepiece(const std::vector<std::string>& sentences, const TokenizerTrainOptions& options) {
  if (options.vocab_size <= 0) {
    throw std::invalid_argument("vocab size must be positive, got " + std::to_string(options.vocab_size));
  }
  if (!(options.character_coverage > 0.0 && options.character_coverage <= 1.0)) {
    throw std::invalid_argument("character coverage must be in (0, 1], got " + number(options.character_coverage));
  }
  if (sentences.empty()) throw std::invalid_argument("no training text");
  sentencepiece::SetRandomGeneratorSeed(options.seed);
  MemorySentences iterator(sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(trainer_arguments(options), &iterator, &model);
  if (!status.ok()) {
    throw std::runtime_error(reword(status.error_message(), options));
  }
  return model;
}

}  // namespace hanvit::language
