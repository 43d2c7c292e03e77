// Logits processors: repetition penalty, top-k, top-p, log-softmax, argmax and sampling.
#include "language/generation/logits_processing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

namespace hanvit::language {

void apply_repetition_penalty(std::span<float> scores, std::span<const int32_t> seen, double penalty) {
  if (penalty == 1.0) return;
  std::set<int32_t> unique(seen.begin(), seen.end());
  for (int32_t id : unique) {
    if (id < 0 || static_cast<size_t>(id) >= scores.size()) continue;
    float& s = scores[static_cast<size_t>(id)];
    s = s < 0 ? static_cast<float>(s * penalty) : static_cast<float>(s / penalty);
  }
}

void apply_top_k(std::span<float> scores, int k) {
  if (k <= 0 || static_cast<size_t>(k) >= scores.size()) return;
  std::vector<float> sorted(scores.begin(), scores.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[static_cast<size_t>(k - 1)];
  for (float& s : scores)
    if (s < kth) s = -std::numeric_limits<float>::infinity();
}

void apply_top_p(std::span<float> scores, double top_p) {
  if (top_p >= 1.0) return;
  std::vector<double> probs(scores.size());
  const float top = *std::max_element(scores.begin(), scores.end());
  double total = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) total += probs[i] = std::exp(static_cast<double>(scores[i]) - top);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double before = 0.0;
  size_t kept = 0;
  for (; kept < order.size(); ++kept) {  // keep a token while the more probable ones sum below top_p
    if (kept > 0 && before >= top_p) break;
    before += probs[order[kept]] / total;
  }
  for (size_t i = kept; i < order.size(); ++i) scores[order[i]] = -std::numeric_limits<float>::infinity();
}

void log_softmax_in_place(std::span<float> scores) {
  const float top = *std::max_element(scores.begin(), scores.end());
  double total = 0.0;
  for (float s : scores) total += std::exp(static_cast<double>(s) - top);
  const double log_total = std::log(total) + top;
  for (float& s : scores) s = static_cast<float>(static_cast<double>(s) - log_total);
}

int32_t argmax(std::span<const float> scores) {
  return static_cast<int32_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

int32_t sample_from(std::span<const float> scores, data::Rng& rng) {
  const float top = *std::max_element(scores.begin(), scores.end());
  std::vector<double> cumulative(scores.size());
  double total = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) cumulative[i] = total += std::exp(static_cast<double>(scores[i]) - top);
  const double target = rng.uniform() * total;
  const size_t index = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), target) -
                                           cumulative.begin());
  // Never a zero-probability token, even where target rounds to the very end.
  size_t chosen = std::min(index, scores.size() - 1);
  while (chosen > 0 && std::isinf(scores[chosen])) --chosen;
  return static_cast<int32_t>(chosen);
}

}  // namespace hanvit::language
