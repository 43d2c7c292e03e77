// The logits processors of generation and the token choice, in Hugging Face generate()'s order:
// repetition penalty; then, when sampling, temperature, top-k and top-p; then argmax or a draw.
#pragma once

#include <cstdint>
#include <span>

#include "language/generation/generation_options.h"
#include "modules/random/rng.h"

namespace hanvit::language {

// Scores of the tokens in `seen` (prompt and output so far): divided by `penalty` when positive,
// multiplied when negative. penalty 1: no change.
void apply_repetition_penalty(std::span<float> scores, std::span<const int32_t> seen, double penalty);
// Scores of ids >= limit become -inf (limit <= 0: no change).
void suppress_from(std::span<float> scores, int64_t limit);
// Keeps the scores >= the k-th largest (ties kept); the rest become -inf. k <= 0 or >= size: no change.
void apply_top_k(std::span<float> scores, int k);
// Keeps the tokens whose more probable tokens (under softmax(scores)) sum below top_p: the smallest
// set reaching top_p, at least one token; the rest become -inf. top_p >= 1: no change.
void apply_top_p(std::span<float> scores, double top_p);
// log(softmax(scores)) in place (f64 sums).
void log_softmax_in_place(std::span<float> scores);
// Index of the largest score (the first on ties, as torch.argmax).
int32_t argmax(std::span<const float> scores);
// A draw from softmax(scores); scores of -inf are never drawn.
int32_t sample_from(std::span<const float> scores, Rng& rng);

// The next token of one row from its logits (changed in place by the processors): the repetition
// penalty over `seen`, then argmax (temperature 0) or temperature, top-k, top-p and a draw.
int32_t choose_token(std::span<float> logits, std::span<const int32_t> seen, const GenerationOptions& options,
                     Rng& rng);

}  // namespace hanvit::language
