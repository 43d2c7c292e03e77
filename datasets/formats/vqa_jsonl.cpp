// Reading of VQA JSON Lines files.
#include "datasets/formats/vqa_jsonl.h"

#include <algorithm>
#include <stdexcept>

#include "datasets/formats/jsonl_file.h"
#include "datasets/formats/record_fields.h"

namespace hanvit::data {

const std::string& majority_answer(const std::vector<std::string>& answers) {
  if (answers.empty()) throw std::invalid_argument("majority_answer: no answers");
  size_t best = 0, best_count = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    const size_t count = static_cast<size_t>(std::count(answers.begin(), answers.end(), answers[i]));
    if (count > best_count) best = i, best_count = count;
  }
  return answers[best];
}

std::vector<Sample> read_vqa_jsonl(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log) {
  const std::filesystem::path base = image_base(path, options.image_root);
  std::vector<Sample> samples;
  read_jsonl(path, log, [&](const JsonlRecord& record) {
    try {
      const nlohmann::json& value = record.value;
      Sample sample;
      sample.kind = SampleKind::vqa;
      const std::string question = require_text(require_field(value, "question"), "question");
      std::string answer;
      if (value.contains("answers")) sample.references = require_answer_list(value["answers"], "answers");
      if (value.contains("answer") || sample.references.empty()) {
        answer = require_text(require_field(value, "answer"), "answer");
        if (sample.references.empty()) sample.references = {answer};
      } else {
        answer = majority_answer(sample.references);
      }
      sample.image = resolve_image(require_text(require_field(value, "image"), "image"), base, options.check_images);
      sample.turns = {Turn{question, answer}};
      sample.source = record.where;
      samples.push_back(std::move(sample));
      log.accept();
    } catch (const BadRecord& e) {
      log.skip(record.where, e.what());
    }
  });
  return samples;
}

}  // namespace hanvit::data
