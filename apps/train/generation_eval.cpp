// evaluate_generation: greedy captions and answers for held-out samples, scored with the data metrics.
#include "apps/train/generation_eval.h"

#include <algorithm>

#include "datasets/metrics/eval_report.h"
#include "datasets/metrics/metric_tokens.h"

namespace hanvit::app {

GenerationScores evaluate_generation(ModelRunner& runner, const std::vector<data::Sample>& samples, size_t limit,
                                     int batch) {
  std::vector<Request> requests;
  std::vector<const data::Sample*> asked;
  size_t captions = 0, questions = 0;
  for (const data::Sample& sample : samples) {
    if (sample.kind == data::SampleKind::conversation || sample.turns.empty()) continue;
    size_t& count = sample.kind == data::SampleKind::caption ? captions : questions;
    if (limit > 0 && count >= limit) continue;
    ++count;
    requests.push_back({sample.image.string(), sample.kind == data::SampleKind::vqa ? sample.turns[0].user : ""});
    asked.push_back(&sample);
  }
  GenerationScores scores;
  if (requests.empty()) return scores;
  DecodeSettings settings;
  settings.batch = batch;
  settings.max_tokens = 48;
  const std::vector<Answer> answers = runner.run(requests, settings);

  data::EvalSet caption_set, vqa_set;
  caption_set.task = data::EvalTask::caption;
  vqa_set.task = data::EvalTask::vqa;
  double exact_captions = 0.0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const data::Sample& sample = *asked[i];
    std::vector<std::string> references =
        sample.references.empty() ? std::vector<std::string>{sample.turns[0].assistant} : sample.references;
    const std::string& prediction = answers[i].text;
    scores.examples.push_back({requests[i].image, requests[i].question, prediction, references});
    if (sample.kind == data::SampleKind::caption) {
      const std::string trimmed = data::trim_metric_space(prediction);
      exact_captions += std::find(references.begin(), references.end(), trimmed) != references.end() ? 1.0 : 0.0;
      caption_set.captions.push_back({requests[i].image, prediction, references});
    } else {
      vqa_set.questions.push_back({requests[i].image, requests[i].question, prediction, references});
    }
  }
  if (!caption_set.captions.empty()) {
    const nlohmann::json report = data::eval_report(caption_set, data::TokenMode::whitespace);
    scores.values["caption_exact_match"] = exact_captions / static_cast<double>(caption_set.captions.size());
    scores.values["cider_d"] = report["cider_d"].get<double>();
    scores.values["bleu4"] = report["bleu4"].get<double>();
    scores.values["rouge_l"] = report["rouge_l"].get<double>();
  }
  if (!vqa_set.questions.empty()) {
    const nlohmann::json report = data::eval_report(vqa_set, data::TokenMode::whitespace);
    scores.values["vqa_accuracy"] = report["vqa_accuracy"].get<double>() / 100.0;
    scores.values["vqa_exact_match"] = report["exact_match"].get<double>() / 100.0;
  }
  return scores;
}

}  // namespace hanvit::app
