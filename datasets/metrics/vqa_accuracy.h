// VQA scores: the VQAv2 soft accuracy over human answers, and exact match.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hanvit::data {

// The VQAv2 accuracy of one prediction, 0..1. Prediction and answers are normalised with
// normalize_vqa_answer; with n >= 2 answers it is the mean over the n leave-one-out subsets of
// min(1, matches in the subset / 3) (for the usual 10 answers: 1 when 4 or more humans agree
// with the prediction, 0.3 for one); with a single answer it is exact match after normalisation.
// Throws std::invalid_argument when there is no answer.
double vqa_accuracy(std::string_view prediction, const std::vector<std::string>& answers);

// 1 when the prediction, with surrounding whitespace trimmed, equals any answer so trimmed, else 0.
// Throws std::invalid_argument when there is no answer.
double exact_match(std::string_view prediction, const std::vector<std::string>& answers);

}  // namespace hanvit::data
