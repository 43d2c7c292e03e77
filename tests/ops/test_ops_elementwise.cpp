// Cross-backend cases for the elementwise family: binary broadcasting, scalar and unary ops,
// activations, selection, dropout and casts.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

// Index of output element `flat` (of `out`) into a broadcast input of shape `in`.
int64_t broadcast_index(const Shape& out, const Shape& in, int64_t flat) {
  int64_t index = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    size_t d = out.size() - 1 - k;
    int64_t coord = flat % out[d];
    flat /= out[d];
    if (k < in.size()) {
      size_t di = in.size() - 1 - k;
      if (in[di] != 1) index += coord * stride;
      stride *= in[di];
    }
  }
  return index;
}

template <typename Fn>
RefTensor ref_binary(const RefTensor& a, const RefTensor& b, Fn fn) {
  RefTensor out(broadcast_shapes(a.shape, b.shape));
  for (int64_t i = 0; i < out.numel(); ++i)
    out[i] = fn(a[broadcast_index(out.shape, a.shape, i)], b[broadcast_index(out.shape, b.shape, i)]);
  return out;
}

template <typename Fn>
RefTensor ref_unary(const RefTensor& x, Fn fn) {
  RefTensor out(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = fn(x[i]);
  return out;
}

double gelu_tanh_ref(double v) { return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))); }
double gelu_erf_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
double silu_ref(double v) { return v / (1.0 + std::exp(-v)); }

const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{3}, {3}}, {{17, 130}, {130}}, {{2, 1, 5}, {3, 1}}, {{1}, {4, 3}}, {{}, {2, 3}}, {{130, 1}, {1, 17}},
};

}  // namespace

TEST_CASE("ops/elementwise binary broadcasting") {
  for (const auto& [sa, sb] : kBroadcastPairs) {
    check_op({"add", {{"a", sa}, {"b", sb}}, [](auto& v) { return v[0] + v[1]; },
              [](const auto& r) { return ref_binary(r[0], r[1], [](double x, double y) { return x + y; }); }});
    check_op({"sub", {{"a", sa}, {"b", sb}}, [](auto& v) { return v[0] - v[1]; },
              [](const auto& r) { return ref_binary(r[0], r[1], [](double x, double y) { return x - y; }); }});
    check_op({"mul", {{"a", sa}, {"b", sb}}, [](auto& v) { return v[0] * v[1]; },
              [](const auto& r) { return ref_binary(r[0], r[1], [](double x, double y) { return x * y; }); }});
    check_op({"div", {{"a", sa}, {"b", sb, Fill::positive}}, [](auto& v) { return v[0] / v[1]; },
              [](const auto& r) { return ref_binary(r[0], r[1], [](double x, double y) { return x / y; }); }});
  }
}

TEST_CASE("ops/elementwise same input used twice accumulates gradients") {
  check_op({"x*x+x", {{"x", {3, 17}}}, [](auto& v) { return v[0] * v[0] + v[0]; },
            [](const auto& r) { return ref_unary(r[0], [](double x) { return x * x + x; }); }});
}

TEST_CASE("ops/elementwise scalar and unary") {
  const Shape shapes[] = {{1}, {3, 17}, {2, 130}};
  for (const Shape& s : shapes) {
    check_op({"add_scalar", {{"x", s}}, [](auto& v) { return add_scalar(v[0], 1.5); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return x + 1.5; }); }});
    check_op({"mul_scalar", {{"x", s}}, [](auto& v) { return mul_scalar(v[0], -0.25); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return x * -0.25; }); }});
    check_op({"pow_scalar", {{"x", s, Fill::positive}}, [](auto& v) { return pow_scalar(v[0], 2.5); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return std::pow(x, 2.5); }); }});
    check_op({"neg", {{"x", s}}, [](auto& v) { return neg(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return -x; }); }});
    check_op({"exp", {{"x", s}}, [](auto& v) { return exp(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return std::exp(x); }); }});
    check_op({"log", {{"x", s, Fill::positive}}, [](auto& v) { return log(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return std::log(x); }); }});
    check_op({"sqrt", {{"x", s, Fill::positive}}, [](auto& v) { return sqrt(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return std::sqrt(x); }); }});
    check_op({"rsqrt", {{"x", s, Fill::positive}}, [](auto& v) { return rsqrt(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return 1.0 / std::sqrt(x); }); }});
    check_op({"tanh", {{"x", s}}, [](auto& v) { return tanh(v[0]); },
              [](const auto& r) { return ref_unary(r[0], [](double x) { return std::tanh(x); }); }});
  }
}

TEST_CASE("ops/elementwise activations") {
  const Shape shapes[] = {{1}, {3, 17}, {4, 130}};
  for (const Shape& s : shapes) {
    check_op({"gelu_tanh", {{"x", s}}, [](auto& v) { return gelu_tanh(v[0]); },
              [](const auto& r) { return ref_unary(r[0], gelu_tanh_ref); }});
    check_op({"gelu_erf", {{"x", s}}, [](auto& v) { return gelu_erf(v[0]); },
              [](const auto& r) { return ref_unary(r[0], gelu_erf_ref); }});
    check_op({"silu", {{"x", s}}, [](auto& v) { return silu(v[0]); },
              [](const auto& r) { return ref_unary(r[0], silu_ref); }});
    check_op({"swiglu", {{"gate", s}, {"up", s}}, [](auto& v) { return swiglu(v[0], v[1]); },
              [](const auto& r) { return ref_binary(r[0], r[1], [](double g, double u) { return silu_ref(g) * u; }); }});
  }
}

TEST_CASE("ops/elementwise where and masked_fill") {
  check_op({"where", {{"cond", {3, 17}, Fill::mask}, {"a", {3, 17}}, {"b", {17}}},
            [](auto& v) { return where(v[0], v[1], v[2]); },
            [](const auto& r) {
              RefTensor out(r[0].shape);
              for (int64_t i = 0; i < out.numel(); ++i) out[i] = r[0][i] != 0.0 ? r[1][i] : r[2][i % 17];
              return out;
            }});
  check_op({"masked_fill", {{"x", {2, 5, 130}}, {"mask", {2, 1, 130}, Fill::mask}},
            [](auto& v) { return masked_fill(v[0], v[1], -3.0); },
            [](const auto& r) {
              RefTensor out(r[0].shape);
              for (int64_t i = 0; i < out.numel(); ++i) {
                int64_t b = i / (5 * 130), j = i % 130;
                out[i] = r[1][b * 130 + j] != 0.0 ? -3.0 : r[0][i];
              }
              return out;
            }});
}

TEST_CASE("ops/elementwise dropout keeps a seeded mask and scales") {
  const double p = 0.3;
  const uint64_t seed = 42;
  check_op({"dropout", {{"x", {17, 130}}}, [&](auto& v) { return dropout(v[0], p, seed); },
            [&](const auto& r) {
              RefTensor out(r[0].shape);
              for (int64_t i = 0; i < out.numel(); ++i) {
                bool keep = false;
                // The reference recomputes the documented hash mask.
                uint64_t z = seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(i);
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
                z ^= z >> 31;
                keep = static_cast<double>(z >> 40) / 16777216.0 >= p;
                out[i] = keep ? r[0][i] / (1.0 - p) : 0.0;
              }
              return out;
            }});
}

TEST_CASE("ops/elementwise cast round trip through bf16 rounds to nearest even") {
  check_op({"cast f32->bf16->f32", {{"x", {3, 17}}},
            [](auto& v) { return cast(cast(v[0], DType::bf16), DType::f32); },
            [](const auto& r) {
              return ref_unary(r[0], [](double x) { return static_cast<double>(bf16_to_f32(f32_to_bf16(static_cast<float>(x)))); });
            },
            0.0, 2e-3, false});
}

TEST_CASE("ops/elementwise builder errors name the op and shapes") {
  Graph g;
  Var a = g.parameter("a", {2, 3});
  Var b = g.parameter("b", {4, 5});
  Var ids = g.input("ids", {2, 3}, DType::i32);
  Var mask = g.input("mask", {2, 4}, DType::u8);
  REQUIRE_THROWS_WITH(add(a, b), Catch::Contains("add") && Catch::Contains("(2,3)") && Catch::Contains("(4,5)"));
  REQUIRE_THROWS_WITH(mul(a, ids), Catch::Contains("mul") && Catch::Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(exp(ids), Catch::Contains("exp"));
  REQUIRE_THROWS_WITH(masked_fill(a, mask, 0.0), Catch::Contains("masked_fill") && Catch::Contains("(2,4)"));
  REQUIRE_THROWS_WITH(where(mask, a, a), Catch::Contains("where"));
  REQUIRE_THROWS_WITH(dropout(a, 1.0, 1), Catch::Contains("dropout"));
  REQUIRE_THROWS_WITH(swiglu(a, b), Catch::Contains("swiglu"));
}
