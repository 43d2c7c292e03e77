// Corpus BLEU-4 with sacrebleu's defaults: brevity penalty, closest reference length, "exp" smoothing.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "datasets/metrics/metric_tokens.h"
#include "datasets/metrics/ngram_counts.h"

namespace hanvit::data {

struct BleuScore {
  double score = 0.0;                               // 0..100, the scale of sacrebleu
  std::array<double, kMaxNgramOrder> precisions{};  // percent, after smoothing
  double brevity_penalty = 1.0;
  size_t hypothesis_length = 0, reference_length = 0;  // summed over the corpus, in tokens
};

// hypotheses[i] is scored against references[i] (one or more token lists). Equals
// sacrebleu.corpus_bleu(hypotheses joined by spaces, references, tokenize="none"): clipped n-gram
// counts against the per-n-gram maximum over a segment's references; reference length = the
// closest one to the hypothesis, ties going to the shorter; a zero match count at order n gets
// precision 100 / (2^k * total_n) for the k-th such order; no match at all, or an order with no
// hypothesis n-gram, gives 0. Throws std::invalid_argument when the sizes differ or a segment has
// no reference.
BleuScore corpus_bleu(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references);

}  // namespace hanvit::data
