// A BPE model as tokenizer.json describes it: a vocabulary, merges applied by rank, and a cache of words.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hanvit::language {

struct BpeOptions {
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token (LLaMA-3)
  std::string unk_token;       // for characters outside the vocabulary; empty: they are dropped
  bool fuse_unk = false;       // consecutive unknown characters give one unk
  bool byte_fallback = false;  // unknown characters become their <0xXX> byte tokens when the vocabulary has them
};

class BpeModel {
 public:
  // `merges` are pairs of vocabulary tokens, by rank (first = merged first). A merge naming a token outside
  // the vocabulary, or whose result is not in it, throws std::invalid_argument naming `where`.
  BpeModel(std::unordered_map<std::string, int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options, std::string_view where);
  ~BpeModel();
  BpeModel(BpeModel&&) noexcept;

  // Appends the ids of one pre-tokenized word (UTF-8 in the vocabulary's alphabet) to `ids`.
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  // The id of a vocabulary token, -1 when absent.
  int32_t token_to_id(std::string_view token) const;
  // The token of an id, nullptr when no token has it.
  const std::string* id_to_token(int32_t id) const;
  // One more than the largest id.
  int32_t id_end() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  struct WordCache;

  std::vector<int32_t> merge_word(std::string_view word) const;
  static uint64_t pair_key(int32_t first, int32_t second) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(first)) << 32) | static_cast<uint32_t>(second);
  }

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> tokens_;  // by id; ids no token has are empty and absent from `has_token_`
  std::vector<bool> has_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
  int32_t unk_id_ = -1;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace hanvit::language
