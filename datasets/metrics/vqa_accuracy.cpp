// VQAv2 soft accuracy and exact match.
#include "datasets/metrics/vqa_accuracy.h"

#include <algorithm>
#include <stdexcept>

#include "datasets/metrics/metric_tokens.h"
#include "datasets/metrics/vqa_normalize.h"

namespace hanvit::data {
namespace {

// A prediction gets full credit from a subset once this many of its humans gave the same answer.
constexpr double kHumansForFullCredit = 3.0;

}  // namespace

double vqa_accuracy(std::string_view prediction, const std::vector<std::string>& answers) {
  if (answers.empty()) throw std::invalid_argument("vqa_accuracy: no answer");
  const std::string predicted = normalize_vqa_answer(prediction);
  std::vector<std::string> normalized;
  normalized.reserve(answers.size());
  for (const std::string& answer : answers) normalized.push_back(normalize_vqa_answer(answer));
  if (normalized.size() == 1) return normalized.front() == predicted ? 1.0 : 0.0;
  const auto matches = static_cast<double>(std::count(normalized.begin(), normalized.end(), predicted));
  double sum = 0.0;
  for (const std::string& left_out : normalized) {
    const double others = matches - (left_out == predicted ? 1.0 : 0.0);
    sum += std::min(1.0, others / kHumansForFullCredit);
  }
  return sum / static_cast<double>(normalized.size());
}

double exact_match(std::string_view prediction, const std::vector<std::string>& answers) {
  if (answers.empty()) throw std::invalid_argument("exact_match: no answer");
  const std::string predicted = trim_metric_space(prediction);
  for (const std::string& answer : answers) {
    if (trim_metric_space(answer) == predicted) return 1.0;
  }
  return 0.0;
}

}  // namespace hanvit::data
