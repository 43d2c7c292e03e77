// Cross-backend cases for layer norm and RMS norm, packed backward ops, determinism and errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <omp.h>
#include <random>

#include "kernels/cpu/norm.h"
#include "modules/graph/autograd.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

RefTensor ref_layer_norm(const RefTensor& x, const RefTensor& w, const RefTensor& b, double eps) {
  RefTensor out(x.shape);
  const int64_t c = x.shape.back();
  for (int64_t r = 0; r * c < x.numel(); ++r) {
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < c; ++j) mean += x[r * c + j];
    mean /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) var += (x[r * c + j] - mean) * (x[r * c + j] - mean);
    var /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) out[r * c + j] = (x[r * c + j] - mean) / std::sqrt(var + eps) * w[j] + b[j];
  }
  return out;
}

RefTensor ref_rms_norm(const RefTensor& x, const RefTensor& w, double eps) {
  RefTensor out(x.shape);
  const int64_t c = x.shape.back();
  for (int64_t r = 0; r * c < x.numel(); ++r) {
    double ms = 0.0;
    for (int64_t j = 0; j < c; ++j) ms += x[r * c + j] * x[r * c + j];
    const double rstd = 1.0 / std::sqrt(ms / static_cast<double>(c) + eps);
    for (int64_t j = 0; j < c; ++j) out[r * c + j] = x[r * c + j] * rstd * w[j];
  }
  return out;
}

// The packed backward in float64 by the closed forms: dx, then dweight, then (layer norm) dbias.
RefTensor ref_norm_backward(const RefTensor& x, const RefTensor& w, const RefTensor& dy, double eps, bool layer) {
  const int64_t c = x.shape.back(), n = x.numel();
  RefTensor out(Shape{n + (layer ? 2 : 1) * c});
  for (int64_t r = 0; r * c < n; ++r) {
    double mean = 0.0, ms = 0.0;
    for (int64_t j = 0; j < c; ++j) mean += layer ? x[r * c + j] : 0.0;
    mean /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) ms += (x[r * c + j] - mean) * (x[r * c + j] - mean);
    const double rstd = 1.0 / std::sqrt(ms / static_cast<double>(c) + eps);
    double mean_g = 0.0, mean_gx = 0.0;
    for (int64_t j = 0; j < c; ++j) {
      const double g = dy[r * c + j] * w[j], xhat = (x[r * c + j] - mean) * rstd;
      mean_g += g / static_cast<double>(c);
      mean_gx += g * xhat / static_cast<double>(c);
    }
    for (int64_t j = 0; j < c; ++j) {
      const double g = dy[r * c + j] * w[j], xhat = (x[r * c + j] - mean) * rstd;
      out[r * c + j] = rstd * (g - (layer ? mean_g : 0.0) - xhat * mean_gx);
      out[n + j] += dy[r * c + j] * xhat;
      if (layer) out[n + c + j] += dy[r * c + j];
    }
  }
  return out;
}

RefTensor ref_add_scalar_f32(const RefTensor& x, double s) {
  RefTensor out = x;
  for (double& v : out.data) v = static_cast<float>(v + s);
  return out;
}

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> out(n);
  for (float& v : out) v = static_cast<float>(normal(rng));
  return out;
}

const Shape kShapes[] = {{1}, {3}, {3, 17}, {2, 3, 130}, {130, 5}, {4, 1}};

}  // namespace

TEST_CASE("ops/norm layer_norm forward and gradients of x, weight and bias") {
  for (const Shape& s : kShapes) {
    const Shape c{s.back()};
    for (double eps : {1e-5, 0.5}) {
      check_op({"layer_norm", {{"x", s}, {"weight", c}, {"bias", c}},
                [=](auto& v) { return layer_norm(v[0], v[1], v[2], eps); },
                [=](const auto& r) { return ref_layer_norm(r[0], r[1], r[2], eps); }});
    }
  }
}

TEST_CASE("ops/norm rms_norm forward and gradients of x and weight") {
  for (const Shape& s : kShapes) {
    const Shape c{s.back()};
    for (double eps : {1e-6, 0.5}) {
      check_op({"rms_norm", {{"x", s}, {"weight", c}}, [=](auto& v) { return rms_norm(v[0], v[1], eps); },
                [=](const auto& r) { return ref_rms_norm(r[0], r[1], eps); }});
    }
  }
}

TEST_CASE("ops/norm gradients with weight and bias not trained") {
  check_op({"layer_norm x only",
            {{"x", {3, 17}}, {"weight", {17}, Fill::positive, false}, {"bias", {17}, Fill::normal, false}},
            [](auto& v) { return layer_norm(v[0], v[1], v[2]); },
            [](const auto& r) { return ref_layer_norm(r[0], r[1], r[2], 1e-5); }});
  check_op({"rms_norm x only", {{"x", {3, 17}}, {"weight", {17}, Fill::positive, false}},
            [](auto& v) { return rms_norm(v[0], v[1]); },
            [](const auto& r) { return ref_rms_norm(r[0], r[1], 1e-6); }});
}

TEST_CASE("ops/norm layer_norm of a row far from zero keeps its variance") {
  // x + 1000 in f32, as the op sees it: float statistics, or x - mean with the mean rounded to
  // f32, would be off by about 1e-4 here. f32 only: bf16 holds x + 1000 to the nearest 4.
  check_op({"layer_norm(x + 1000)", {{"x", {5, 130}}, {"weight", {130}}, {"bias", {130}}},
            [](auto& v) { return layer_norm(add_scalar(v[0], 1000.0), v[1], v[2]); },
            [](const auto& r) { return ref_layer_norm(ref_add_scalar_f32(r[0], 1000.0), r[1], r[2], 1e-5); }, 1e-5,
            2e-3, false, 1e-5, /*bf16=*/false});
}

TEST_CASE("ops/norm packed backward ops directly, threaded") {
  // 300 x 130 = 39000 elements: above the kernels' threading threshold, 64 row blocks.
  const Shape s{300, 130}, c{130};
  check_op({"layer_norm_backward", {{"x", s}, {"weight", c}, {"dy", s}},
            [](auto& v) { return layer_norm_backward(v[0], v[1], v[2], 1e-5); },
            [](const auto& r) { return ref_norm_backward(r[0], r[1], r[2], 1e-5, true); }, 1e-4, 2e-3, false});
  check_op({"rms_norm_backward", {{"x", s}, {"weight", c}, {"dy", s}},
            [](auto& v) { return rms_norm_backward(v[0], v[1], v[2], 1e-6); },
            [](const auto& r) { return ref_norm_backward(r[0], r[1], r[2], 1e-6, false); }, 1e-4, 2e-3, false});
  check_op({"layer_norm threaded", {{"x", s}, {"weight", c}, {"bias", c}},
            [](auto& v) { return layer_norm(v[0], v[1], v[2]); },
            [](const auto& r) { return ref_layer_norm(r[0], r[1], r[2], 1e-5); }, 1e-5, 2e-3, false});
  check_op({"rms_norm threaded", {{"x", s}, {"weight", c}}, [](auto& v) { return rms_norm(v[0], v[1]); },
            [](const auto& r) { return ref_rms_norm(r[0], r[1], 1e-6); }, 1e-5, 2e-3, false});
}

TEST_CASE("ops/norm backward kernels give the same bits on any thread count") {
  const int64_t rows = 517, c = 130;
  const std::vector<float> x = random_floats(static_cast<size_t>(rows * c), 1), dy = random_floats(x.size(), 2),
                           w = random_floats(static_cast<size_t>(c), 3);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> ln(x.size() + 2 * c), rms(x.size() + c);
    cpu::layer_norm_backward_f32(x.data(), w.data(), dy.data(), ln.data(), ln.data() + x.size(),
                                 ln.data() + x.size() + c, rows, c, 1e-5);
    cpu::rms_norm_backward_f32(x.data(), w.data(), dy.data(), rms.data(), rms.data() + x.size(), rows, c, 1e-6);
    omp_set_num_threads(saved);
    ln.insert(ln.end(), rms.begin(), rms.end());
    return ln;
  };
  const std::vector<float> one = run(1);
  CHECK(run(2) == one);
  CHECK(run(3) == one);
}

TEST_CASE("ops/norm backward kernels with no rows give zero weight gradients") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> w{1.0f, 2.0f, 3.0f};
  std::vector<float> dw(3, nan), db(3, nan);
  cpu::layer_norm_backward_f32(nullptr, w.data(), nullptr, nullptr, dw.data(), db.data(), 0, 3, 1e-5);
  CHECK(dw == std::vector<float>(3, 0.0f));
  CHECK(db == std::vector<float>(3, 0.0f));
  std::fill(dw.begin(), dw.end(), nan);
  cpu::rms_norm_backward_f32(nullptr, w.data(), nullptr, nullptr, dw.data(), 0, 3, 1e-6);
  CHECK(dw == std::vector<float>(3, 0.0f));
}

TEST_CASE("ops/norm builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {2, 3});
  Var w = g.parameter("w", {3});
  Var b = g.parameter("b", {3});
  Var w4 = g.parameter("w4", {4});
  Var w2d = g.parameter("w2d", {1, 3});
  Var half = g.parameter("half", {3}, DType::bf16);
  Var ids = g.input("ids", {2, 3}, DType::i32);
  Var s = g.parameter("s", {});
  Var dy = g.parameter("dy", {3, 2});
  REQUIRE_THROWS_WITH(layer_norm(x, w4, b), Catch::Contains("layer_norm: weight and bias must be (C)") &&
                                                Catch::Contains("f32(2,3)") && Catch::Contains("f32(4)"));
  REQUIRE_THROWS_WITH(layer_norm(x, w, w2d), Catch::Contains("layer_norm") && Catch::Contains("(1,3)"));
  REQUIRE_THROWS_WITH(layer_norm(x, w, half), Catch::Contains("layer_norm") && Catch::Contains("bf16(3)"));
  REQUIRE_THROWS_WITH(layer_norm(ids, w, b), Catch::Contains("layer_norm") && Catch::Contains("floating-point"));
  REQUIRE_THROWS_WITH(layer_norm(s, w, b), Catch::Contains("layer_norm") && Catch::Contains("at least one axis"));
  REQUIRE_THROWS_WITH(layer_norm(x, w, b, -1e-5), Catch::Contains("layer_norm") && Catch::Contains("eps"));
  REQUIRE_THROWS_WITH(layer_norm(x, w, b, std::nan("")), Catch::Contains("layer_norm") && Catch::Contains("eps"));
  REQUIRE_THROWS_WITH(layer_norm_backward(x, w, dy, 1e-5),
                      Catch::Contains("layer_norm_backward") && Catch::Contains("(2,3)") && Catch::Contains("(3,2)"));
  REQUIRE_THROWS_WITH(layer_norm_backward(x, w4, x, 1e-5), Catch::Contains("layer_norm_backward"));
  REQUIRE_THROWS_WITH(rms_norm(x, w4), Catch::Contains("rms_norm: weight must be (C)") && Catch::Contains("f32(4)"));
  REQUIRE_THROWS_WITH(rms_norm(x, w, -1.0), Catch::Contains("rms_norm") && Catch::Contains("eps"));
  REQUIRE_THROWS_WITH(rms_norm_backward(x, w, dy, 1e-6),
                      Catch::Contains("rms_norm_backward") && Catch::Contains("(3,2)"));
  REQUIRE_THROWS_WITH(rms_norm_backward(x, half, x, 1e-6), Catch::Contains("rms_norm_backward"));
  CHECK(layer_norm_backward(x, w, x, 1e-5).shape() == Shape{6 + 2 * 3});
  CHECK(rms_norm_backward(x, w, x, 1e-6).shape() == Shape{6 + 3});
}
