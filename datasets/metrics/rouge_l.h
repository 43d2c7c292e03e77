// ROUGE-L as computed by pycocoevalcap's Rouge: LCS precision and recall, best over references, F with beta = 1.2.
#pragma once

#include <cstddef>
#include <vector>

#include "datasets/metrics/metric_tokens.h"

namespace hanvit::data {

// Length of the longest common subsequence of two token lists.
size_t longest_common_subsequence(const Tokens& a, const Tokens& b);

// max over references of LCS / |hypothesis| (P) and of LCS / |reference| (R), then
// (1 + b^2) P R / (R + b^2 P) with b = 1.2, or 0 when P or R is 0 (an empty hypothesis scores 0).
// Throws std::invalid_argument when there is no reference or a reference is empty.
double rouge_l(const Tokens& hypothesis, const std::vector<Tokens>& references);

struct RougeLScore {
  double score = 0.0;  // 0..1, mean of per_segment
  std::vector<double> per_segment;
};

RougeLScore corpus_rouge_l(const std::vector<Tokens>& hypotheses, const std::vector<std::vector<Tokens>>& references);

}  // namespace hanvit::data
