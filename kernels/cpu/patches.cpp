// Patch f32 kernels: each patch row of P pixels is one contiguous copy in both layouts.
#include "kernels/cpu/patches.h"

#include <cstring>

namespace hanvit::cpu {
namespace {

// Calls copy(image_offset, patch_offset) for every run of P pixels: the run at image row
// gh*P + i, columns gw*P .. gw*P + P of channel c, and its place in patch gh*(W/P) + gw.
template <typename Copy>
void for_each_patch_row(int64_t B, int64_t C, int64_t H, int64_t W, int64_t P, Copy copy) {
  const int64_t grid_w = W / P;
  const int64_t rows = B * C * H;  // image rows (b, c, y)
#pragma omp parallel for schedule(static) if (rows * W > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t y = r % H, c = (r / H) % C, b = r / (H * C);
    const int64_t gh = y / P, i = y % P;
    for (int64_t gw = 0; gw < grid_w; ++gw) {
      const int64_t patch = b * (H / P) * grid_w + gh * grid_w + gw;
      copy(r * W + gw * P, patch * C * P * P + (c * P + i) * P);
    }
  }
}

}  // namespace

void unfold_patches_f32(const float* x, float* patches, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P) {
  const size_t bytes = static_cast<size_t>(P) * sizeof(float);
  for_each_patch_row(B, C, H, W, P,
                     [&](int64_t image, int64_t patch) { std::memcpy(patches + patch, x + image, bytes); });
}

void fold_patches_f32(const float* patches, float* x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P) {
  const size_t bytes = static_cast<size_t>(P) * sizeof(float);
  for_each_patch_row(B, C, H, W, P,
                     [&](int64_t image, int64_t patch) { std::memcpy(x + image, patches + patch, bytes); });
}

}  // namespace hanvit::cpu
