// The training objective of a vision-language model: next-token cross-entropy over the target tokens.
#pragma once

#include <optional>

#include "fusion/vision_language_model.h"

namespace hanvit::fusion {

struct TrainingInputs {
  Var pixels;                   // f32 (B, 3, H, W), or undefined for text-only rows (gated models)
  Var ids;                      // i32 (B, T): the token layout of datasets/loader/token_layout.h
  Var positions;                // i32 (T)
  Var targets;                  // i32 (B * T): targets[b*T + t] = the token position t predicts, -100 = none
  std::optional<Var> key_mask;  // u8 (B, T), 1 = real token (right padding)
};

// Mean cross-entropy of the logits against the targets (positions with -100 left out): a scalar.
Var training_loss(const VisionLanguageModel& model, const TrainingInputs& in);

}  // namespace hanvit::fusion
