// defines: AttentionShape, attention_forward, attention_backward_scratch_bytes, attention_backward — fused
// flash-style scaled dot-product attention on CUDA (no (Tq, Tk) score matrix in global memory).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// q (B, Hq, Tq, D), k (B, Hk, Tk, D), v (B, Hk, Tk, Dv), all contiguous; q_heads % kv_heads == 0 and query
// head h reads kv head h / (q_heads / kv_heads). D and Dv at most 256.
struct AttentionShape {
  int64_t batch = 0;
  int64_t q_heads = 0, kv_heads = 0;
  int64_t q_len = 0, kv_len = 0;
  int64_t head_dim = 0;   // D
  int64_t value_dim = 0;  // Dv
};

// out (B, Hq, Tq, Dv) = softmax(q k^T * scale) v with f32 accumulation; q, k, v and out have `dtype` (f32, bf16,
// f16). key_mask u8 (B, Tk), 1 = attend, or null. causal: query i sees key j iff j <= i + Tk - Tq (bottom-right).
// A query that sees no key gets a zero row. bf16/f16 with D, Dv <= 128 run on tensor cores (mma.sync), everything
// else on a SIMT kernel in f32.
void attention_forward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                       const uint8_t* key_mask, bool causal, float scale, void* out, cudaStream_t stream);

// Device scratch that attention_backward needs: the row logsumexp and rowsum(dout * out), 2 * B * Hq * Tq floats.
size_t attention_backward_scratch_bytes(const AttentionShape& shape);

// Gradients of sum(out * dout) for attention_forward: dout (B, Hq, Tq, Dv) -> dq (B, Hq, Tq, D), dk (B, Hk, Tk, D),
// dv (B, Hk, Tk, Dv), all of `dtype`. Three launches: a forward pass that keeps only each row's logsumexp and
// rowsum(dout * out) (in `scratch`, attention_backward_scratch_bytes), one CTA per key block for dk and dv (looping
// over the query blocks of every query head that reads the kv head, in a fixed order), one CTA per query block for
// dq. No atomics: repeated runs give the same bits. A query that sees no key gets zero dq and adds nothing to dk, dv.
void attention_backward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                        const uint8_t* key_mask, const void* dout, bool causal, float scale, void* dq, void* dk,
                        void* dv, void* scratch, cudaStream_t stream);

}  // namespace hanvit::cuda
