// Predictions matched to references for `hanvit eval`: caption or VQA JSONL on both sides.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "datasets/formats/record_log.h"

namespace hanvit::data {

enum class EvalTask { caption, vqa };

// Throws std::invalid_argument for anything but "caption" or "vqa".
EvalTask parse_eval_task(const std::string& name);
const char* eval_task_name(EvalTask task);

struct CaptionPair {
  std::string image;
  std::string prediction;
  std::vector<std::string> references;  // at least one, none blank
};

struct VqaPair {
  std::string image, question;
  std::string prediction;
  std::vector<std::string> answers;  // at least one, none blank
};

struct EvalSet {
  EvalTask task = EvalTask::caption;
  std::vector<CaptionPair> captions;  // caption task, in prediction-file order
  std::vector<VqaPair> questions;     // VQA task, in prediction-file order
  // "<file>:<line>: ..." for each prediction without a reference and each reference without a
  // prediction; neither is scored.
  std::vector<std::string> unmatched_predictions, unmatched_references;
};

// Reads predictions and references (JSONL, read_jsonl) and matches them.
// Predictions: {"image", "caption"} or {"image", "question", "answer"}. References:
// {"image", "caption" | "captions": [...]} (lines for the same image are merged) or
// {"image", "question", "answer" | "answers": [...]} (an answer may also be {"answer": "..."},
// as in VQAv2 annotations). Pairs match by the image path as written (VQA: image and question).
// The task is `task` when given, else "vqa" when the first JSON object of the predictions has a
// "question" field, "caption" otherwise. Records with missing or wrong fields, blank references
// or answers, and repeated predictions or VQA references go to the logs (which throw when
// strict); with strict logs an unmatched record throws too. Throws std::runtime_error when a file
// cannot be read or no prediction matches a reference.
EvalSet load_eval_set(const std::filesystem::path& predictions, const std::filesystem::path& references,
                      std::optional<EvalTask> task, RecordLog& prediction_log, RecordLog& reference_log);

}  // namespace hanvit::data
