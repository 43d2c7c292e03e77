// Patch op builders and backward rules: unfold/fold patches, and patch_embed = unfold + matmul.
#include <algorithm>
#include <string>

#include "modules/graph/autograd.h"
#include "modules/graph/ops/builder.h"

namespace hanvit {
namespace {

// (B, (H/P)*(W/P), C*P*P) for an image (B, C, H, W) whose H and W are multiples of P.
Shape patches_shape(const Shape& image, int64_t patch) {
  return {image[0], (image[2] / patch) * (image[3] / patch), image[1] * patch * patch};
}

bool divisible(const Shape& image, int64_t patch) {
  return patch > 0 && image[2] % patch == 0 && image[3] % patch == 0;
}

std::string patch_text(int64_t patch) { return std::to_string(patch) + "x" + std::to_string(patch) + " patches"; }

}  // namespace

Var unfold_patches(Var x, int64_t patch) {
  require_float("unfold_patches", x);
  require_rank("unfold_patches", "x", x, 4);
  if (!divisible(x.shape(), patch))
    op_error("unfold_patches", "image (B, C, H, W) does not divide into " + patch_text(patch), {x});
  return record_op(OpKind::unfold_patches, {x}, patches_shape(x.shape(), patch), x.dtype(), PatchAttrs{patch});
}

void backward_unfold_patches(BackwardContext& ctx) {
  ctx.input_grads[0] = fold_patches(ctx.grad, ctx.input(0).shape(), std::get<PatchAttrs>(ctx.node.attrs).patch);
}

Var fold_patches(Var patches, const Shape& image_shape, int64_t patch) {
  require_float("fold_patches", patches);
  require_rank("fold_patches", "patches", patches, 3);
  bool valid =
      image_shape.size() == 4 && std::all_of(image_shape.begin(), image_shape.end(), [](int64_t d) { return d >= 0; });
  if (!valid || !divisible(image_shape, patch))
    op_error("fold_patches", "image shape " + shape_str(image_shape) + " does not divide into " + patch_text(patch),
             {patches});
  if (patches.shape() != patches_shape(image_shape, patch))
    op_error("fold_patches",
             "patches of image " + shape_str(image_shape) + " must have shape " +
                 shape_str(patches_shape(image_shape, patch)),
             {patches});
  return record_op(OpKind::fold_patches, {patches}, image_shape, patches.dtype(), PatchAttrs{patch});
}

Var patch_embed(Var x, Var weight, Var bias) {
  require_float("patch_embed", x);
  require_rank("patch_embed", "x", x, 4);
  require_float_like("patch_embed", "weight", weight, x);
  require_rank("patch_embed", "weight", weight, 4);
  require_float_like("patch_embed", "bias", bias, x);
  require_rank("patch_embed", "bias", bias, 1);
  const int64_t embed = weight.dim(0), channels = weight.dim(1), patch = weight.dim(2);
  if (weight.dim(3) != patch || channels != x.dim(1) || bias.dim(0) != embed)
    op_error("patch_embed", "needs x (B, C, H, W), weight (E, C, P, P), bias (E)", {x, weight, bias});
  if (!divisible(x.shape(), patch))
    op_error("patch_embed", "image (B, C, H, W) does not divide into " + patch_text(patch), {x, weight, bias});
  Var patches = unfold_patches(x, patch);                        // (B, N, C*P*P)
  Var kernel = view(weight, {embed, channels * patch * patch});  // (E, C*P*P)
  return add(matmul(patches, kernel, false, true), bias);        // (B, N, E)
}

}  // namespace hanvit
