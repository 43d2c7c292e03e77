// defines: embedding, embedding_backward_scratch_bytes, embedding_backward, rope_scratch_bytes, rope —
// token embedding gather, its deterministic scatter-add, and rotary position embedding on the GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// Float buffers have `dtype` (f32, bf16 or f16); ids and positions are i32. Device scratch
// must be 16-byte aligned.

// out (n, dim) = weight (vocab, dim)[ids (n)], rows copied in 16-byte vectors where the row size
// and pointers allow. An id outside [0, vocab) gives a zero row (cpu::embedding_f32 throws; a
// kernel cannot).
void embedding(DType dtype, const void* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, void* out,
               cudaStream_t stream);

// Device scratch that embedding_backward needs for n ids.
size_t embedding_backward_scratch_bytes(int64_t n, int64_t vocab, int64_t dim);

// dweight (vocab, dim) = sum over positions p with ids[p] == v of dy (n, dim)[p], summed in f32
// in position order; rows no id hits are zero, ids outside [0, vocab) are skipped. The positions
// are sorted by id (a stable radix sort), then the sorted list is cut into fixed tiles that sum
// their ids' rows; an id whose positions span tiles gets its tile sums added in tile order. So
// a re-run gives the same bits. n < 2^31.
void embedding_backward(DType dtype, const int32_t* ids, int64_t n, const void* dy, int64_t vocab, int64_t dim,
                        void* dweight, void* scratch, cudaStream_t stream);

// Device scratch that rope needs: its cos/sin table (T, D/2) in f32.
size_t rope_scratch_bytes(int64_t T, int64_t D);

// y (batch, heads, T, D) = x rotated in the rotate-half layout of Hugging Face LLaMA, as
// cpu::rope_f32: for i < D/2 the pair (x[i], x[i + D/2]) turns by angle (positions[t] /
// position_scale) * theta^(-2i/D); `inverse` turns by the opposite angle. The angles and their
// cos/sin are computed in double and rounded to f32 (a table in scratch), the rotation in f32.
// D is even.
void rope(DType dtype, const void* x, void* y, int64_t batch, int64_t heads, int64_t T, int64_t D,
          const int32_t* positions, double theta, double position_scale, bool inverse, void* scratch,
          cudaStream_t stream);

}  // namespace hanvit::cuda
