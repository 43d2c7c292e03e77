// N-gram counting shared by BLEU and CIDEr-D.
#pragma once

#include <array>
#include <string>
#include <unordered_map>

#include "datasets/metrics/metric_tokens.h"

namespace hanvit::data {

// Both BLEU-4 and CIDEr-D use n-grams of orders 1..4.
inline constexpr int kMaxNgramOrder = 4;

// by_order[n - 1] maps each n-gram, its tokens joined by one space, to its count in the text.
struct NgramCounts {
  std::array<std::unordered_map<std::string, int>, kMaxNgramOrder> by_order;
};

NgramCounts count_ngrams(const Tokens& tokens);

}  // namespace hanvit::data
