// Logits processors (repetition penalty, top-k, top-p), log-softmax, argmax, draws and the token choice.
#include "language/generation/sampling.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

namespace hanvit::language {
namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

}  // namespace

void apply_repetition_penalty(std::span<float> scores, std::span<const int32_t> seen, double penalty) {
  if (penalty == 1.0) return;
  std::vector<int32_t> unique(seen.begin(), seen.end());
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
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
    if (s < kth) s = kMinusInf;
}

void apply_top_p(std::span<float> scores, double top_p) {
  if (top_p >= 1.0) return;
  const float top = *std::max_element(scores.begin(), scores.end());
  std::vector<double> probs(scores.size());
  double total = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) total += probs[i] = std::exp(static_cast<double>(scores[i]) - top);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double before = 0.0;  // probability of the tokens ranked above the current one
  size_t kept = 0;
  for (; kept < order.size(); ++kept) {
    if (kept > 0 && before >= top_p) break;
    before += probs[order[kept]] / total;
  }
  for (size_t i = kept; i < order.size(); ++i) scores[order[i]] = kMinusInf;
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

int32_t sample_from(std::span<const float> scores, Rng& rng) {
  const float top = *std::max_element(scores.begin(), scores.end());
  std::vector<double> cumulative(scores.size());
  double total = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) cumulative[i] = total += std::exp(static_cast<double>(scores[i]) - top);
  const double target = rng.uniform() * total;
  size_t chosen =
      static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), target) - cumulative.begin());
  // Where the target rounds to the very end, the last token with any probability.
  chosen = std::min(chosen, scores.size() - 1);
  while (chosen > 0 && scores[chosen] == kMinusInf) --chosen;
  return static_cast<int32_t>(chosen);
}

void suppress_from(std::span<float> scores, int64_t limit) {
  if (limit <= 0) return;
  for (size_t id = static_cast<size_t>(limit); id < scores.size(); ++id) scores[id] = -std::numeric_limits<float>::infinity();
}

int32_t choose_token(std::span<float> logits, std::span<const int32_t> seen, const GenerationOptions& options,
                     Rng& rng) {
  suppress_from(logits, options.vocab_limit);
  apply_repetition_penalty(logits, seen, options.repetition_penalty);
  if (options.temperature <= 0) return argmax(logits);
  for (float& s : logits) s = static_cast<float>(s / options.temperature);
  apply_top_k(logits, options.top_k);
  apply_top_p(logits, options.top_p);
  return sample_from(logits, rng);
}

}  // namespace hanvit::language
