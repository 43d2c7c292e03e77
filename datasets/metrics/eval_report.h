// Scores of a matched evaluation set as one JSON object: the report of `hanvit eval`.
#pragma once

#include <nlohmann/json.hpp>

#include "datasets/metrics/eval_set.h"
#include "datasets/metrics/metric_tokens.h"

namespace hanvit::data {

// Caption task: {"task": "caption", "tokens": "whitespace" | "char", "count", "bleu4" (0..100,
// sacrebleu's scale), "cider_d" (pycocoevalcap's scale), "rouge_l" (0..1), "unmatched_predictions",
// "unmatched_references"}. VQA task: {"task": "vqa", "count", "vqa_accuracy" and "exact_match"
// (both 0..100, the official VQA script's scale), "unmatched_predictions", "unmatched_references"}.
// `mode` applies to captions only.
nlohmann::json eval_report(const EvalSet& set, TokenMode mode);

}  // namespace hanvit::data
