// Cross-backend cases for the patches family: unfold/fold, and patch_embed vs a direct convolution.
#include <catch2/catch.hpp>

#include "modules/exec/executor.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

// Offset of x[b, c, y, x_] in an image (B, C, H, W).
int64_t pixel(const Shape& s, int64_t b, int64_t c, int64_t y, int64_t x) {
  return ((b * s[1] + c) * s[2] + y) * s[3] + x;
}

// x (B, C, H, W) -> (B, (H/P)*(W/P), C*P*P)
RefTensor ref_unfold(const RefTensor& x, int64_t p) {
  const Shape& s = x.shape;
  const int64_t gh = s[2] / p, gw = s[3] / p, len = s[1] * p * p;
  RefTensor out({s[0], gh * gw, len});
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t n = 0; n < gh * gw; ++n)
      for (int64_t c = 0; c < s[1]; ++c)
        for (int64_t i = 0; i < p; ++i)
          for (int64_t j = 0; j < p; ++j)
            out[(b * gh * gw + n) * len + (c * p + i) * p + j] = x[pixel(s, b, c, (n / gw) * p + i, (n % gw) * p + j)];
  return out;
}

// patches (B, N, C*P*P) -> image (B, C, H, W)
RefTensor ref_fold(const RefTensor& patches, const Shape& image, int64_t p) {
  RefTensor out(image);
  RefTensor index(image);
  for (int64_t i = 0; i < index.numel(); ++i) index[i] = static_cast<double>(i);
  RefTensor where = ref_unfold(index, p);  // where[k]: the pixel patch element k came from
  for (int64_t k = 0; k < where.numel(); ++k) out[static_cast<int64_t>(where[k])] += patches[k];
  return out;
}

// Conv2d(x (B, C, H, W), weight (E, C, P, P), bias (E), stride P) flattened to (B, N, E).
RefTensor ref_patch_embed(const RefTensor& x, const RefTensor& weight, const RefTensor& bias) {
  const Shape& s = x.shape;
  const int64_t e = weight.shape[0], p = weight.shape[2], gh = s[2] / p, gw = s[3] / p;
  RefTensor out({s[0], gh * gw, e});
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t oy = 0; oy < gh; ++oy)
      for (int64_t ox = 0; ox < gw; ++ox)
        for (int64_t o = 0; o < e; ++o) {
          double acc = bias[o];
          for (int64_t c = 0; c < s[1]; ++c)
            for (int64_t i = 0; i < p; ++i)
              for (int64_t j = 0; j < p; ++j)
                acc += x[pixel(s, b, c, oy * p + i, ox * p + j)] * weight[((o * s[1] + c) * p + i) * p + j];
          out[(b * gh * gw + oy * gw + ox) * e + o] = acc;
        }
  return out;
}

Shape patches_shape(const Shape& image, int64_t p) {
  return {image[0], (image[2] / p) * (image[3] / p), image[1] * p * p};
}

}  // namespace

TEST_CASE("ops/patches unfold and fold") {
  struct Case {
    Shape image;
    int64_t patch;
  };
  const Case cases[] = {{{2, 3, 8, 12}, 4}, {{1, 1, 3, 3}, 1},   {{1, 2, 3, 3}, 3},
                        {{1, 17, 2, 4}, 2}, {{3, 1, 6, 130}, 2}, {{1, 3, 16, 16}, 16}};
  for (const Case& c : cases) {
    const int64_t p = c.patch;
    const Shape image = c.image;
    check_op({"unfold_patches " + shape_str(image) + " P=" + std::to_string(p),
              {{"x", image}},
              [p](auto& v) { return unfold_patches(v[0], p); },
              [p](const auto& r) { return ref_unfold(r[0], p); }});
    check_op({"fold_patches " + shape_str(image) + " P=" + std::to_string(p),
              {{"patches", patches_shape(image, p), Fill::normal, false}},
              [p, image](auto& v) { return fold_patches(v[0], image, p); },
              [p, image](const auto& r) { return ref_fold(r[0], image, p); },
              1e-5,
              2e-3,
              false});
    check_op({"fold(unfold(x)) " + shape_str(image),
              {{"x", image}},  // fold_patches has no backward rule
              [p, image](auto& v) { return fold_patches(unfold_patches(v[0], p), image, p); },
              [](const auto& r) { return r[0]; },
              1e-5,
              2e-3,
              false});
  }
}

TEST_CASE("ops/patches patch_embed equals a stride-P convolution") {
  struct Case {
    Shape image;
    int64_t embed, patch;
  };
  const Case cases[] = {{{2, 3, 8, 8}, 5, 4}, {{1, 1, 3, 6}, 2, 3}, {{1, 3, 4, 2}, 17, 2}, {{2, 2, 2, 2}, 1, 1}};
  for (const Case& c : cases) {
    const Shape& s = c.image;
    check_op({"patch_embed " + shape_str(s) + " E=" + std::to_string(c.embed),
              {{"x", s}, {"weight", {c.embed, s[1], c.patch, c.patch}}, {"bias", {c.embed}}},
              [](auto& v) { return patch_embed(v[0], v[1], v[2]); },
              [](const auto& r) { return ref_patch_embed(r[0], r[1], r[2]); }});
  }
}

TEST_CASE("ops/patches fold_patches puts every patch element back in its pixel") {
  Graph g;
  Var patches = g.input("patches", {1, 4, 2});  // image (1, 2, 2, 2), P = 1: one pixel per patch
  Var image = fold_patches(patches, {1, 2, 2, 2}, 1);
  Executor exec(g, cpu_backend(), {image}, ExecutorOptions{.poison = true});
  exec.bind("patches", Tensor::from_vector<float>({1, 4, 2}, {0, 4, 1, 5, 2, 6, 3, 7}));
  exec.run();
  CHECK(exec.value(image).to_f64() == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("ops/patches builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {1, 3, 10, 12}), x3 = g.parameter("x3", {3, 8, 8}),
      ids = g.input("ids", {1, 3, 8, 8}, DType::i32);
  Var p = g.parameter("p", {1, 30, 48}), p2 = g.parameter("p2", {30, 48});
  REQUIRE_THROWS_WITH(unfold_patches(x, 4),
                      Catch::Contains("unfold_patches: image (B, C, H, W) does not divide into 4x4 patches") &&
                          Catch::Contains("f32(1,3,10,12)"));
  REQUIRE_THROWS_WITH(unfold_patches(x, 0), Catch::Contains("unfold_patches") && Catch::Contains("0x0 patches"));
  REQUIRE_THROWS_WITH(unfold_patches(x3, 4),
                      Catch::Contains("unfold_patches: x must have rank 4") && Catch::Contains("(3,8,8)"));
  REQUIRE_THROWS_WITH(unfold_patches(ids, 4), Catch::Contains("unfold_patches: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(fold_patches(p, {1, 3, 10, 12}, 4),
                      Catch::Contains("fold_patches: image shape (1,3,10,12) does not divide into 4x4"));
  REQUIRE_THROWS_WITH(fold_patches(p, {3, 10, 12}, 2), Catch::Contains("fold_patches: image shape (3,10,12)"));
  REQUIRE_THROWS_WITH(fold_patches(p, {1, -3, 10, 12}, 2), Catch::Contains("fold_patches: image shape (1,-3,10,12)"));
  REQUIRE_THROWS_WITH(fold_patches(p, {1, 3, 10, 12}, 2),
                      Catch::Contains("fold_patches: patches of image (1,3,10,12) must have shape (1,30,12)") &&
                          Catch::Contains("f32(1,30,48)"));
  REQUIRE_THROWS_WITH(fold_patches(p2, {1, 3, 10, 12}, 2), Catch::Contains("fold_patches: patches must have rank 3"));
  CHECK(fold_patches(p, {1, 12, 10, 12}, 2).shape() == Shape{1, 12, 10, 12});

  Var img = g.parameter("img", {2, 3, 8, 8}), w = g.parameter("w", {5, 3, 4, 4}), bias = g.parameter("bias", {5});
  Var w_rect = g.parameter("w_rect", {5, 3, 4, 2}), w_c = g.parameter("w_c", {5, 2, 4, 4}), b6 = g.parameter("b6", {6});
  Var w3 = g.parameter("w3", {5, 3, 3, 3}), b2d = g.parameter("b2d", {1, 5});
  REQUIRE_THROWS_WITH(patch_embed(img, w_rect, bias),
                      Catch::Contains("patch_embed: needs x (B, C, H, W), weight (E, C, P, P), bias (E)") &&
                          Catch::Contains("f32(2,3,8,8), f32(5,3,4,2), f32(5)"));
  REQUIRE_THROWS_WITH(patch_embed(img, w_c, bias),
                      Catch::Contains("patch_embed: needs x") && Catch::Contains("f32(5,2,4,4)"));
  REQUIRE_THROWS_WITH(patch_embed(img, w, b6), Catch::Contains("patch_embed: needs x") && Catch::Contains("f32(6)"));
  REQUIRE_THROWS_WITH(patch_embed(img, w3, bias),
                      Catch::Contains("patch_embed: image (B, C, H, W) does not divide into 3x3 patches"));
  REQUIRE_THROWS_WITH(patch_embed(x3, w, bias), Catch::Contains("patch_embed: x must have rank 4"));
  REQUIRE_THROWS_WITH(patch_embed(img, w, b2d), Catch::Contains("patch_embed: bias must have rank 1"));
  REQUIRE_THROWS_WITH(patch_embed(ids, w, bias), Catch::Contains("patch_embed: needs a floating-point tensor"));
  CHECK(patch_embed(img, w, bias).shape() == Shape{2, 4, 5});
}
