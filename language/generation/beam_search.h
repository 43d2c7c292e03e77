// Beam search as Hugging Face generate() does it (num_beams, length_penalty, early_stopping True/False).
#pragma once

#include <vector>

#include "language/generation/decode_session.h"
#include "language/generation/generation_options.h"

namespace hanvit::language {

// num_beams rows per prompt in `session` (a fresh one). Each step takes, per prompt, the best
// max(2, 1 + stop ids) * num_beams continuations of all its beams by summed log-probabilities (after
// the repetition penalty on log-softmax); those among the first num_beams that end in a stop token,
// or every one of them at the last step, become finished hypotheses scored
// sum_logprobs / generated^length_penalty (generated counts the stop token), num_beams kept; the best
// num_beams others run on. A prompt ends when num_beams hypotheses have finished and either
// early_stopping is set or its best running beam, scored at its current length, does not beat the
// worst finished one. Returns the best finished hypothesis per prompt. Options must be checked.
std::vector<GenerationResult> beam_search(DecodeSession& session, const std::vector<std::vector<int32_t>>& prompts,
                                          const GenerationOptions& options);

}  // namespace hanvit::language
