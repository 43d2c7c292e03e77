// N-gram counting.
#include "datasets/metrics/ngram_counts.h"

namespace hanvit::data {

NgramCounts count_ngrams(const Tokens& tokens) {
  NgramCounts counts;
  for (size_t start = 0; start < tokens.size(); ++start) {
    std::string ngram;
    for (size_t n = 1; n <= kMaxNgramOrder && start + n <= tokens.size(); ++n) {
      if (n > 1) ngram += ' ';
      ngram += tokens[start + n - 1];
      ++counts.by_order[n - 1][ngram];
    }
  }
  return counts;
}

}  // namespace hanvit::data
