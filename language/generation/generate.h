// generate(): greedy decoding, sampling and beam search over a StepModel, for a batch of prompts.
#pragma once

#include <vector>

#include "language/generation/generation_options.h"
#include "language/generation/step_model.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::language {

// Throws std::invalid_argument naming the option: max_new_tokens < 1, num_beams < 1, beam search with
// sampling, temperature < 0, top_p outside (0, 1], repetition_penalty <= 0.
void check_generation_options(const GenerationOptions& options);

// One result per prompt, in order. Prompts of different lengths are left-padded and finished rows
// leave the batch, so each result equals generating its prompt alone (sampling: prompt p draws from
// stream p of the seed).
std::vector<GenerationResult> generate(const StepModel& model, const ParameterStore& store, Backend& backend,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options);

}  // namespace hanvit::language
