// A plain decoder LM as a StepModel (text generation without an image).
#pragma once

#include "language/decoder/decoder_lm.h"
#include "language/generation/step_model.h"

namespace hanvit::language {

class DecoderStepModel : public StepModel {
 public:
  explicit DecoderStepModel(const DecoderLM& model) : model_(model) {}

  StepOutputs build_step(Graph& g, const StepInputs& in) const override;
  int64_t vocab_size() const override { return model_.config().vocab_size; }

 private:
  const DecoderLM& model_;
};

}  // namespace hanvit::language
