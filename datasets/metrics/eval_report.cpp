// Caption and VQA scoring of an evaluation set.
#include "datasets/metrics/eval_report.h"

#include "datasets/metrics/bleu.h"
#include "datasets/metrics/cider_d.h"
#include "datasets/metrics/rouge_l.h"
#include "datasets/metrics/vqa_accuracy.h"

namespace hanvit::data {
namespace {

constexpr double kPercent = 100.0;

nlohmann::json caption_report(const EvalSet& set, TokenMode mode) {
  std::vector<Tokens> hypotheses;
  std::vector<std::vector<Tokens>> references;
  for (const CaptionPair& pair : set.captions) {
    hypotheses.push_back(metric_tokens(pair.prediction, mode, "prediction for image '" + pair.image + "'"));
    references.emplace_back();
    for (const std::string& reference : pair.references) {
      references.back().push_back(metric_tokens(reference, mode, "reference for image '" + pair.image + "'"));
    }
  }
  return {{"task", "caption"},
          {"tokens", mode == TokenMode::whitespace ? "whitespace" : "char"},
          {"count", set.captions.size()},
          {"bleu4", corpus_bleu(hypotheses, references).score},
          {"cider_d", cider_d(hypotheses, references).score},
          {"rouge_l", corpus_rouge_l(hypotheses, references).score}};
}

nlohmann::json vqa_report(const EvalSet& set) {
  double accuracy = 0.0, exact = 0.0;
  for (const VqaPair& pair : set.questions) {
    accuracy += vqa_accuracy(pair.prediction, pair.answers);
    exact += exact_match(pair.prediction, pair.answers);
  }
  const auto count = static_cast<double>(set.questions.size());
  return {{"task", "vqa"},
          {"count", set.questions.size()},
          {"vqa_accuracy", count > 0 ? kPercent * accuracy / count : 0.0},
          {"exact_match", count > 0 ? kPercent * exact / count : 0.0}};
}

}  // namespace

nlohmann::json eval_report(const EvalSet& set, TokenMode mode) {
  nlohmann::json report = set.task == EvalTask::caption ? caption_report(set, mode) : vqa_report(set);
  report["unmatched_predictions"] = set.unmatched_predictions.size();
  report["unmatched_references"] = set.unmatched_references.size();
  return report;
}

}  // namespace hanvit::data
