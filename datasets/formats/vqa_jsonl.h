// vqa-jsonl: one {"image", "question", "answer"} or {"image", "question", "answers": [...]} object per line.
#pragma once

#include <string>
#include <vector>

#include "datasets/formats/dataset_format.h"

namespace hanvit::data {

// The training target among several answers: the most frequent, ties to the one seen first.
const std::string& majority_answer(const std::vector<std::string>& answers);

// One vqa sample per line. "answers" holds strings or VQAv2 objects {"answer": "..."}; all of
// them go to references. The target (turns[0].assistant) is "answer" when given, else the
// majority answer. Source: "file:line".
std::vector<Sample> read_vqa_jsonl(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log);

}  // namespace hanvit::data
