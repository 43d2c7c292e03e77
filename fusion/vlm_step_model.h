// The vision-language model as a StepModel for generation: each row's cached visual keys/values are
// per-row inputs, so beam search and batching reorder them with the text cache.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fusion/vision_language_model.h"
#include "language/generation/step_model.h"

namespace hanvit::fusion {

class VlmStepModel : public language::StepModel {
 public:
  // visual: per entry of model.visual_kv(), host tensors (B, Hk, S, Dh) for the B rows (empty: text
  // only, gated models). With want_attention, every step also outputs "cross_attention": (B, 1, S).
  VlmStepModel(const VisionLanguageModel& model, std::vector<std::pair<Tensor, Tensor>> visual, bool want_attention);

  language::StepOutputs build_step(Graph& g, const language::StepInputs& in) const override;
  std::vector<std::pair<std::string, Tensor>> row_inputs() const override;
  int64_t vocab_size() const override { return model_.config().language.vocab_size; }

 private:
  const VisionLanguageModel& model_;
  std::vector<std::pair<Tensor, Tensor>> visual_;
  bool want_attention_;
};

}  // namespace hanvit::fusion
