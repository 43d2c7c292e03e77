// Encoding a batch of images once: pixels -> the visual keys/values every generation step reads.
#pragma once

#include <utility>
#include <vector>

#include "fusion/vision_language_model.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::fusion {

// pixels f32 (B, 3, H, W) -> per entry of model.visual_kv() (gated blocks, or decoder layers of an
// encoder-decoder model): keys and values (B, Hk, S, Dh), contiguous, on `backend`'s device.
std::vector<std::pair<Tensor, Tensor>> encode_images(const VisionLanguageModel& model, const ParameterStore& store,
                                                     Backend& backend, const Tensor& pixels);

}  // namespace hanvit::fusion
