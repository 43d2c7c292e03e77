// BPE encoding: a word starts as its characters, then the adjacent pair of lowest merge rank is merged
// (every occurrence, left to right) until no pair has a merge; results are cached per word.
#include "language/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace hanvit::language {
namespace {

constexpr size_t kCacheCapacity = 10000;

size_t utf8_sequence_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

}  // namespace

struct BpeModel::WordCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>> words;
};

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
                   std::string_view where)
    : vocab_(std::move(vocab)), options_(std::move(options)), cache_(std::make_unique<WordCache>()) {
  int32_t id_end = 0;
  for (const auto& [token, id] : vocab_) {
    if (id < 0)
      throw std::invalid_argument(std::string(where) + ": vocabulary token '" + token + "' has a negative id");
    id_end = std::max(id_end, id + 1);
  }
  tokens_.resize(id_end);
  has_token_.resize(id_end, false);
  for (const auto& [token, id] : vocab_) {
    if (has_token_[id]) {
      throw std::invalid_argument(std::string(where) + ": vocabulary id " + std::to_string(id) + " is given to both '" +
                                  tokens_[id] + "' and '" + token + "'");
    }
    tokens_[id] = token;
    has_token_[id] = true;
  }
  auto id_of = [&](const std::string& token, size_t rank) {
    const int32_t id = token_to_id(token);
    if (id < 0) {
      throw std::invalid_argument(std::string(where) + ": merge " + std::to_string(rank) + " uses '" + token +
                                  "', which is not in the vocabulary");
    }
    return id;
  };
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [first, second] = merges[rank];
    const uint64_t pair = pair_key(id_of(first, rank), id_of(second, rank));
    const int32_t merged = token_to_id(first + second);
    if (merged < 0) {
      throw std::invalid_argument(std::string(where) + ": merge " + std::to_string(rank) + " makes '" + first + second +
                                  "', which is not in the vocabulary");
    }
    merges_.try_emplace(pair, Merge{static_cast<int32_t>(rank), merged});
  }
  if (!options_.unk_token.empty()) {
    unk_id_ = token_to_id(options_.unk_token);
    if (unk_id_ < 0) {
      throw std::invalid_argument(std::string(where) + ": unk_token '" + options_.unk_token +
                                  "' is not in the vocabulary");
    }
  }
}

BpeModel::~BpeModel() = default;
BpeModel::BpeModel(BpeModel&&) noexcept = default;

int32_t BpeModel::token_to_id(std::string_view token) const {
  const auto found = vocab_.find(std::string(token));
  return found == vocab_.end() ? -1 : found->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  return id >= 0 && id < id_end() && has_token_[id] ? &tokens_[id] : nullptr;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (options_.ignore_merges) {
    if (const int32_t id = token_to_id(word); id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  {
    std::lock_guard lock(cache_->mutex);
    if (const auto found = cache_->words.find(std::string(word)); found != cache_->words.end()) {
      ids.insert(ids.end(), found->second.begin(), found->second.end());
      return;
    }
  }
  std::vector<int32_t> merged = merge_word(word);
  ids.insert(ids.end(), merged.begin(), merged.end());
  std::lock_guard lock(cache_->mutex);
  if (cache_->words.size() < kCacheCapacity) cache_->words.emplace(word, std::move(merged));
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word) const {
  std::vector<int32_t> symbols;
  bool last_was_unk = false;
  for (size_t at = 0; at < word.size();) {
    const size_t length = std::min(utf8_sequence_length(static_cast<unsigned char>(word[at])), word.size() - at);
    const std::string_view character = word.substr(at, length);
    at += length;
    if (const int32_t id = token_to_id(character); id >= 0) {
      symbols.push_back(id);
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<int32_t> byte_ids;
      for (unsigned char byte : character) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", byte);
        byte_ids.push_back(token_to_id(name));
      }
      if (std::find(byte_ids.begin(), byte_ids.end(), -1) == byte_ids.end()) {
        symbols.insert(symbols.end(), byte_ids.begin(), byte_ids.end());
        last_was_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0 && !(options_.fuse_unk && last_was_unk)) symbols.push_back(unk_id_);
    last_was_unk = unk_id_ >= 0;
  }
  while (symbols.size() > 1) {
    Merge best{std::numeric_limits<int32_t>::max(), -1};
    uint64_t best_pair = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto found = merges_.find(pair_key(symbols[i], symbols[i + 1]));
      if (found != merges_.end() && found->second.rank < best.rank) {
        best = found->second;
        best_pair = found->first;
      }
    }
    if (best.merged_id < 0) break;
    size_t written = 0;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && pair_key(symbols[i], symbols[i + 1]) == best_pair) {
        symbols[written++] = best.merged_id;
        ++i;
      } else {
        symbols[written++] = symbols[i];
      }
    }
    symbols.resize(written);
  }
  return symbols;
}

}  // namespace hanvit::language
