// CIDEr-D (Vedantam et al. 2015) as computed by pycocoevalcap's Cider: tf-idf n-gram cosine with clipping and a length
// penalty.
#pragma once

#include <vector>

#include "datasets/metrics/metric_tokens.h"

namespace hanvit::data {

struct CiderDScore {
  double score = 0.0;               // mean of per_segment (pycocoevalcap's scale: up to about 10)
  std::vector<double> per_segment;  // one per hypothesis
};

// hypotheses[i] is scored against references[i]. Equals pycocoevalcap.cider.Cider().compute_score
// on the space-joined tokens: n = 1..4, document frequencies counted over the reference sets of
// this corpus (an n-gram counts once per segment), idf = log(segments) - log(max(1, df)), each
// reference compared with min(hyp, ref) clipping, a Gaussian penalty exp(-delta^2 / (2 * 6^2))
// on delta = the difference in bigram counts (pycocoevalcap's "length"), the mean over orders and
// references times 10. Throws std::invalid_argument when the sizes differ or a segment has no
// reference.
CiderDScore cider_d(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references);

}  // namespace hanvit::data
