// Patch f32 kernels: cut images into non-overlapping P x P patches (ViT) and put them back.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// patches (B, (H/P)*(W/P), C*P*P) from x (B, C, H, W): patch n = gh * (W/P) + gw holds
// x[b, c, gh*P + i, gw*P + j] at c*P*P + i*P + j. H and W are multiples of P.
void unfold_patches_f32(const float* x, float* patches, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P);

// The adjoint (and, stride being P, the inverse): x (B, C, H, W) from patches.
void fold_patches_f32(const float* patches, float* x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P);

}  // namespace hanvit::cpu
