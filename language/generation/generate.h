// generate(): greedy decoding, sampling and beam search over a StepModel, for a batch of prompts.
#pragma once

#include <vector>

#include "language/generation/generation_options.h"
#include "language/generation/step_model.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::language {

// One result per prompt, in order. Prompts of different lengths are left-padded; finished rows
// stop (their results equal generating each prompt alone). Throws std::invalid_argument for bad
// options (num_beams < 1, beam search with sampling, max_new_tokens < 1, top_p outside (0, 1]).
std::vector<GenerationResult> generate(const StepModel& model, const ParameterStore& store, Backend& backend,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options);

}  // namespace hanvit::language
