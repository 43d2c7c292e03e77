// Corpus BLEU-4 following sacrebleu's BLEU.compute_bleu and segment statistics.
#include "datasets/metrics/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace hanvit::data {
namespace {

// sacrebleu floors log(0) at this value instead of minus infinity.
constexpr double kLogOfZero = -9999999999.0;

// The reference length closest to the hypothesis length; of two equally close, the shorter.
size_t closest_reference_length(size_t hypothesis_length, const std::vector<Tokens>& references) {
  const auto diff = [&](size_t length) {
    return length > hypothesis_length ? length - hypothesis_length : hypothesis_length - length;
  };
  size_t best = references.front().size();
  for (const Tokens& reference : references) {
    const size_t length = reference.size();
    if (diff(length) < diff(best) || (diff(length) == diff(best) && length < best)) best = length;
  }
  return best;
}

}  // namespace

BleuScore corpus_bleu(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references) {
  if (hypotheses.size() != references.size()) {
    throw std::invalid_argument("corpus_bleu: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                                std::to_string(references.size()) + " reference sets");
  }
  std::array<long long, kMaxNgramOrder> correct{}, total{};
  BleuScore result;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    if (references[i].empty())
      throw std::invalid_argument("corpus_bleu: segment " + std::to_string(i) + " has no reference");
    // The most times each n-gram occurs in any one reference: the clip for the hypothesis counts.
    NgramCounts max_reference;
    for (const Tokens& reference : references[i]) {
      const NgramCounts counts = count_ngrams(reference);
      for (int n = 0; n < kMaxNgramOrder; ++n) {
        for (const auto& [ngram, count] : counts.by_order[n]) {
          int& best = max_reference.by_order[n][ngram];
          best = std::max(best, count);
        }
      }
    }
    const NgramCounts hypothesis = count_ngrams(hypotheses[i]);
    for (int n = 0; n < kMaxNgramOrder; ++n) {
      for (const auto& [ngram, count] : hypothesis.by_order[n]) {
        total[n] += count;
        const auto found = max_reference.by_order[n].find(ngram);
        if (found != max_reference.by_order[n].end()) correct[n] += std::min(count, found->second);
      }
    }
    result.hypothesis_length += hypotheses[i].size();
    result.reference_length += closest_reference_length(hypotheses[i].size(), references[i]);
  }

  const double sys_len = static_cast<double>(result.hypothesis_length);
  const double ref_len = static_cast<double>(result.reference_length);
  if (result.hypothesis_length < result.reference_length) {
    result.brevity_penalty = result.hypothesis_length > 0 ? std::exp(1.0 - ref_len / sys_len) : 0.0;
  }
  if (std::all_of(correct.begin(), correct.end(), [](long long c) { return c == 0; })) return result;

  double smoothing = 1.0;
  for (int n = 0; n < kMaxNgramOrder; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smoothing *= 2.0;
      result.precisions[n] = 100.0 / (smoothing * static_cast<double>(total[n]));
    } else {
      result.precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
    }
  }
  double log_sum = 0.0;
  for (const double p : result.precisions) log_sum += p == 0.0 ? kLogOfZero : std::log(p);
  result.score = result.brevity_penalty * std::exp(log_sum / kMaxNgramOrder);
  return result;
}

}  // namespace hanvit::data
