// Patch CUDA launches: both directions are permutes of 6-d views that keep the P pixels of a patch row together,
// so they run as the layout family's row copies (words of up to 16 bytes per run of P pixels).
#include <stdexcept>
#include <string>

#include "kernels/cuda/layout.h"
#include "kernels/cuda/patches.h"

namespace hanvit::cuda {
namespace {

void require_float(DType dtype, const char* what) {
  if (!dtype_is_float(dtype))
    throw std::invalid_argument(std::string(what) + ": CUDA kernel has no " + std::string(dtype_name(dtype)) +
                                " variant");
}

}  // namespace

void unfold_patches(DType dtype, const void* x, void* patches, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                    cudaStream_t stream) {
  require_float(dtype, "unfold_patches");
  // x (B, C, H/P, P, W/P, P) -> (B, H/P, W/P, C, P, P)
  const int64_t image[] = {B, C, H / P, P, W / P, P}, dims[] = {0, 2, 4, 1, 3, 5};
  permute(dtype, x, patches, image, dims, stream);
}

void fold_patches(DType dtype, const void* patches, void* x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                  cudaStream_t stream) {
  require_float(dtype, "fold_patches");
  // patches (B, H/P, W/P, C, P, P) -> (B, C, H/P, P, W/P, P)
  const int64_t grid[] = {B, H / P, W / P, C, P, P}, dims[] = {0, 3, 1, 4, 2, 5};
  permute(dtype, patches, x, grid, dims, stream);
}

}  // namespace hanvit::cuda
