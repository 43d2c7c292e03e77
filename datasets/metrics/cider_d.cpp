// CIDEr-D following pycocoevalcap's CiderScorer, detail for detail.
#include "datasets/metrics/cider_d.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "datasets/metrics/ngram_counts.h"

namespace hanvit::data {
namespace {

constexpr double kSigma = 6.0;        // standard deviation of the length penalty
constexpr double kScoreScale = 10.0;  // pycocoevalcap multiplies the mean by 10

using DocumentFrequency = std::array<std::unordered_map<std::string, double>, kMaxNgramOrder>;

// The tf-idf vector of one text: weights per order, their Euclidean norms, and the bigram count.
struct TfIdf {
  std::array<std::unordered_map<std::string, double>, kMaxNgramOrder> weights;
  std::array<double, kMaxNgramOrder> norms{};
  int length = 0;
};

TfIdf tf_idf(const NgramCounts& counts, const DocumentFrequency& df, double log_segments) {
  TfIdf v;
  for (int n = 0; n < kMaxNgramOrder; ++n) {
    for (const auto& [ngram, term_frequency] : counts.by_order[n]) {
      const auto found = df[n].find(ngram);
      const double log_df = std::log(std::max(1.0, found == df[n].end() ? 0.0 : found->second));
      const double weight = static_cast<double>(term_frequency) * (log_segments - log_df);
      v.weights[n].emplace(ngram, weight);
      v.norms[n] += weight * weight;
      if (n == 1) v.length += term_frequency;
    }
    v.norms[n] = std::sqrt(v.norms[n]);
  }
  return v;
}

// Clipped cosine similarity per order times the length penalty.
std::array<double, kMaxNgramOrder> similarity(const TfIdf& hyp, const TfIdf& ref) {
  const double delta = static_cast<double>(hyp.length - ref.length);
  const double penalty = std::exp(-(delta * delta) / (2.0 * kSigma * kSigma));
  std::array<double, kMaxNgramOrder> value{};
  for (int n = 0; n < kMaxNgramOrder; ++n) {
    for (const auto& [ngram, weight] : hyp.weights[n]) {
      const auto found = ref.weights[n].find(ngram);
      const double ref_weight = found == ref.weights[n].end() ? 0.0 : found->second;
      value[n] += std::min(weight, ref_weight) * ref_weight;
    }
    if (hyp.norms[n] != 0.0 && ref.norms[n] != 0.0) value[n] /= hyp.norms[n] * ref.norms[n];
    value[n] *= penalty;
  }
  return value;
}

}  // namespace

CiderDScore cider_d(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references) {
  if (hypotheses.size() != references.size()) {
    throw std::invalid_argument("cider_d: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                                std::to_string(references.size()) + " reference sets");
  }
  std::vector<std::vector<NgramCounts>> reference_counts(references.size());
  DocumentFrequency df;
  for (size_t i = 0; i < references.size(); ++i) {
    if (references[i].empty())
      throw std::invalid_argument("cider_d: segment " + std::to_string(i) + " has no reference");
    std::array<std::unordered_set<std::string>, kMaxNgramOrder> seen;
    for (const Tokens& reference : references[i]) {
      reference_counts[i].push_back(count_ngrams(reference));
      for (int n = 0; n < kMaxNgramOrder; ++n) {
        for (const auto& entry : reference_counts[i].back().by_order[n]) seen[n].insert(entry.first);
      }
    }
    for (int n = 0; n < kMaxNgramOrder; ++n) {
      for (const std::string& ngram : seen[n]) df[n][ngram] += 1.0;
    }
  }

  const double log_segments = std::log(static_cast<double>(references.size()));
  CiderDScore result;
  double sum = 0.0;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const TfIdf hyp = tf_idf(count_ngrams(hypotheses[i]), df, log_segments);
    std::array<double, kMaxNgramOrder> per_order{};
    for (const NgramCounts& counts : reference_counts[i]) {
      const std::array<double, kMaxNgramOrder> sim = similarity(hyp, tf_idf(counts, df, log_segments));
      for (int n = 0; n < kMaxNgramOrder; ++n) per_order[n] += sim[n];
    }
    double mean = 0.0;
    for (const double v : per_order) mean += v;
    mean /= kMaxNgramOrder;
    const double score = mean / static_cast<double>(references[i].size()) * kScoreScale;
    result.per_segment.push_back(score);
    sum += score;
  }
  if (!hypotheses.empty()) result.score = sum / static_cast<double>(hypotheses.size());
  return result;
}

}  // namespace hanvit::data
