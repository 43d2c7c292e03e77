// training_loss: the model's logits over every position, cross-entropy against the shifted targets.
#include "fusion/training_loss.h"

#include "modules/graph/ops.h"

namespace hanvit::fusion {

Var training_loss(const VisionLanguageModel& model, const TrainingInputs& in) {
  TextInputs text;
  text.ids = in.ids;
  text.positions = in.positions;
  text.key_mask = in.key_mask;
  if (in.pixels.defined()) text.visual = model.visual_kv(model.encode(in.pixels));
  Var logits = model.forward(text).logits;  // (B, T, V)
  const int64_t vocab = logits.dim(2);
  return cross_entropy(view(logits, {-1, vocab}), in.targets);
}

}  // namespace hanvit::fusion
