// The logits processors of generation, applied to one row of logits in Hugging Face's order:
// repetition penalty, then (sampling) temperature, top-k and top-p, then the draw.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "datasets/random/rng.h"

namespace hanvit::language {

// Seen tokens' scores: divided by `penalty` when positive, multiplied when negative.
void apply_repetition_penalty(std::span<float> scores, std::span<const int32_t> seen, double penalty);
// Keeps the scores >= the k-th largest (ties kept); the rest become -inf. k <= 0: no change.
void apply_top_k(std::span<float> scores, int k);
// Keeps the smallest set of highest-probability tokens whose probability reaches top_p (at least
// one); the rest become -inf. top_p >= 1: no change.
void apply_top_p(std::span<float> scores, double top_p);
// log(softmax(scores)) in place (f64 sums).
void log_softmax_in_place(std::span<float> scores);
// Index of the largest score (the first one on ties, as torch.argmax).
int32_t argmax(std::span<const float> scores);
// A draw from softmax(scores) (scores of -inf have probability 0).
int32_t sample_from(std::span<const float> scores, data::Rng& rng);

}  // namespace hanvit::language
