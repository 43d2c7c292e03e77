// Embedding f32 kernels: row gather, its deterministic scatter-add, and rotary position embedding.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// out (n, dim) = weight (vocab, dim)[ids (n)]. Throws std::invalid_argument naming the first
// id outside [0, vocab) and its position.
void embedding_f32(const float* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, float* out);

// dweight (vocab, dim) = sum over positions p with ids[p] == v of dy (n, dim)[p]; rows no id
// hits are zero. Each row is summed by one thread in position order, so the result does not
// depend on the thread count. Throws like embedding_f32 on an id out of range.
void embedding_backward_f32(const int32_t* ids, int64_t n, const float* dy, int64_t vocab, int64_t dim, float* dweight);

// y (batch, heads, T, D) = x rotated in the rotate-half layout of Hugging Face LLaMA: for
// i < D/2, the pair (x[i], x[i + D/2]) turns by angle (positions[t] / position_scale) *
// theta^(-2i/D), computed in double; `inverse` turns by the opposite angle. D must be even.
void rope_f32(const float* x, float* y, int64_t batch, int64_t heads, int64_t T, int64_t D, const int32_t* positions,
              double theta, double position_scale, bool inverse);

}  // namespace hanvit::cpu
