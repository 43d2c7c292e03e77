// ROUGE-L following pycocoevalcap's Rouge.calc_score.
#include "datasets/metrics/rouge_l.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace hanvit::data {
namespace {

constexpr double kBeta = 1.2;  // recall weighted 1.2 times precision, as in pycocoevalcap

}  // namespace

size_t longest_common_subsequence(const Tokens& a, const Tokens& b) {
  // previous[j] / current[j]: LCS of a[0, i) and b[0, j) for the previous and current i.
  std::vector<size_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

double rouge_l(const Tokens& hypothesis, const std::vector<Tokens>& references) {
  if (references.empty()) throw std::invalid_argument("rouge_l: no reference");
  double best_precision = 0.0, best_recall = 0.0;
  for (const Tokens& reference : references) {
    if (reference.empty()) throw std::invalid_argument("rouge_l: empty reference");
    if (hypothesis.empty()) continue;
    const double lcs = static_cast<double>(longest_common_subsequence(reference, hypothesis));
    best_precision = std::max(best_precision, lcs / static_cast<double>(hypothesis.size()));
    best_recall = std::max(best_recall, lcs / static_cast<double>(reference.size()));
  }
  if (best_precision == 0.0 || best_recall == 0.0) return 0.0;
  const double beta2 = kBeta * kBeta;
  return ((1.0 + beta2) * best_precision * best_recall) / (best_recall + beta2 * best_precision);
}

RougeLScore corpus_rouge_l(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references) {
  if (hypotheses.size() != references.size()) {
    throw std::invalid_argument("corpus_rouge_l: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                                std::to_string(references.size()) + " reference sets");
  }
  RougeLScore result;
  double sum = 0.0;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    result.per_segment.push_back(rouge_l(hypotheses[i], references[i]));
    sum += result.per_segment.back();
  }
  if (!hypotheses.empty()) result.score = sum / static_cast<double>(hypotheses.size());
  return result;
}

}  // namespace hanvit::data
