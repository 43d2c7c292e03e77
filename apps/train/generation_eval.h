// Evaluation by generation: caption and answer held-out samples with a model and score them (CIDEr-D,
// BLEU-4, ROUGE-L, caption exact match, VQA accuracy and exact match).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apps/model/model_runner.h"
#include "datasets/formats/sample.h"

namespace hanvit::app {

// One generated output next to what the data says.
struct GeneratedExample {
  std::string image;
  std::string question;  // empty for a caption
  std::string prediction;
  std::vector<std::string> references;
};

struct GenerationScores {
  // caption_exact_match, cider_d, bleu4, rouge_l (caption samples present); vqa_accuracy,
  // vqa_exact_match (VQA samples present). All in 0..1 except cider_d (pycocoevalcap's scale) and
  // bleu4 (0..100, sacrebleu's scale).
  std::map<std::string, double> values;
  std::vector<GeneratedExample> examples;  // every sample scored, in sample order
};

// Generates greedily for the caption and VQA samples of `samples` (conversations are skipped), at most
// `limit` of each kind (0 = all), `batch` images per forward, and scores them with whitespace tokens.
GenerationScores evaluate_generation(ModelRunner& runner, const std::vector<data::Sample>& samples, size_t limit,
                                     int batch = 16);

}  // namespace hanvit::app
