// Fused scaled dot-product attention f32 kernels (forward and backward), flash-attention style:
// key tiles with an online softmax, so no (Tq, Tk) score matrix is ever materialised.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

struct AttentionDims {
  int64_t batch = 0;
  int64_t q_heads = 0, kv_heads = 0;  // q_heads % kv_heads == 0, kv_heads >= 1
  int64_t q_len = 0, kv_len = 0;
  int64_t head_dim = 0;   // D of q and k
  int64_t value_dim = 0;  // Dv of v and the output
};

// out (B, Hq, Tq, Dv) = softmax(q k^T * scale) v for every (batch, query head); q (B, Hq, Tq, D),
// k (B, Hk, Tk, D), v (B, Hk, Tk, Dv); query head h reads kv head h / (Hq / Hk).
// key_mask u8 (B, Tk), 1 = attend, or null for none. causal: query i sees key j only when
// j <= i + (Tk - Tq), i.e. the last query is aligned with the last key (bottom-right, as in
// flash-attn and KV-cache decoding). A query that sees no key gets a zero row.
void attention_forward_f32(const AttentionDims& dims, const float* q, const float* k, const float* v,
                           const uint8_t* key_mask, bool causal, float scale, float* out);

// Gradients of sum(out * dout) for the forward above: dout (B, Hq, Tq, Dv) -> dq (B, Hq, Tq, D),
// dk (B, Hk, Tk, D), dv (B, Hk, Tk, Dv). Recomputes the scores tile by tile from a per-row
// logsumexp (O(Tq) extra memory per head); a query that sees no key contributes nothing. The dk and
// dv of a kv head shared by several query heads are summed in a fixed order: repeated runs with
// the same thread count give the same bits.
void attention_backward_f32(const AttentionDims& dims, const float* q, const float* k, const float* v,
                            const uint8_t* key_mask, const float* dout, bool causal, float scale, float* dq, float* dk,
                            float* dv);

}  // namespace hanvit::cpu
