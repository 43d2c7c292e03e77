// defines: unfold_patches, fold_patches — ViT patch cuts and their inverse on CUDA, for float dtypes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// patches (B, (H/P)*(W/P), C*P*P) from x (B, C, H, W): patch n = gh * (W/P) + gw holds x[b, c, gh*P + i, gw*P + j]
// at c*P*P + i*P + j. H and W are multiples of P.
void unfold_patches(DType dtype, const void* x, void* patches, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                    cudaStream_t stream);

// The adjoint (and, stride being P, the inverse): x (B, C, H, W) from patches.
void fold_patches(DType dtype, const void* patches, void* x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                  cudaStream_t stream);

}  // namespace hanvit::cuda
