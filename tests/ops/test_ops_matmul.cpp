// Cross-backend cases for matmul: every transpose combination, batched and shared b, errors.
#include <catch2/catch.hpp>

#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

// op(a) (..., M, K) x op(b) (..., K, N) in float64, b 2-D shared by every batch or batched like a.
RefTensor ref_matmul(const RefTensor& a, const RefTensor& b, bool ta, bool tb) {
  const size_t r = a.shape.size();
  const int64_t m = ta ? a.shape[r - 1] : a.shape[r - 2], k = ta ? a.shape[r - 2] : a.shape[r - 1];
  const int64_t n = tb ? b.shape[b.shape.size() - 2] : b.shape.back();
  Shape shape(a.shape.begin(), a.shape.end() - 2);
  const int64_t batch = numel(shape);
  shape.push_back(m);
  shape.push_back(n);
  RefTensor out(shape);
  const bool shared = b.shape.size() == 2;
  for (int64_t p = 0; p < batch; ++p) {
    const int64_t ao = p * m * k, bo = shared ? 0 : p * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int64_t l = 0; l < k; ++l)
          acc += a[ao + (ta ? l * m + i : i * k + l)] * b[bo + (tb ? j * k + l : l * n + j)];
        out[(p * m + i) * n + j] = acc;
      }
  }
  return out;
}

// The stored shape of an operand whose op() is (rows, cols), with leading batch dims.
Shape stored(Shape batch, int64_t rows, int64_t cols, bool transposed) {
  batch.push_back(transposed ? cols : rows);
  batch.push_back(transposed ? rows : cols);
  return batch;
}

struct MatmulCase {
  Shape batch_a, batch_b;  // batch_b empty: b is 2-D
  int64_t m, k, n;
};

void check_matmul(const MatmulCase& mc) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = stored(mc.batch_a, mc.m, mc.k, ta), sb = stored(mc.batch_b, mc.k, mc.n, tb);
      check_op({"matmul " + shape_str(sa) + (ta ? "^T" : "") + " x " + shape_str(sb) + (tb ? "^T" : ""),
                {{"a", sa}, {"b", sb}},
                [ta, tb](auto& v) { return matmul(v[0], v[1], ta, tb); },
                [ta, tb](const auto& r) { return ref_matmul(r[0], r[1], ta, tb); }});
    }
}

}  // namespace

TEST_CASE("ops/matmul 2-D products under every transpose combination") {
  check_matmul({{}, {}, 3, 5, 4});
  check_matmul({{}, {}, 1, 1, 1});
  check_matmul({{}, {}, 17, 3, 130});
  check_matmul({{}, {}, 1, 130, 1});
  check_matmul({{}, {}, 130, 1, 3});
}

TEST_CASE("ops/matmul batched products with identical batch dims") {
  check_matmul({{2}, {2}, 3, 5, 4});
  check_matmul({{2, 3}, {2, 3}, 4, 5, 6});
  check_matmul({{1}, {1}, 17, 1, 3});
  check_matmul({{3}, {3}, 1, 17, 1});
}

TEST_CASE("ops/matmul 2-D b shared by every batch sums its gradient over the batch") {
  check_matmul({{2}, {}, 7, 5, 3});
  check_matmul({{2, 3}, {}, 4, 5, 6});
  check_matmul({{3}, {}, 1, 17, 1});
  check_matmul({{1}, {}, 3, 1, 130});
}

TEST_CASE("ops/matmul with an empty inner dimension gives zeros") {
  check_matmul({{}, {}, 3, 0, 4});
  check_matmul({{2}, {}, 3, 0, 4});
  check_matmul({{2}, {2}, 3, 0, 4});
}

TEST_CASE("ops/matmul builder errors name the op and shapes") {
  Graph g;
  Var a23 = g.parameter("a23", {2, 3}), b45 = g.parameter("b45", {4, 5}), b35 = g.parameter("b35", {3, 5});
  Var v3 = g.parameter("v3", {3}), ids = g.input("ids", {2, 3}, DType::i32);
  Var a234 = g.parameter("a234", {2, 3, 4}), b345 = g.parameter("b345", {3, 4, 5}),
      b245 = g.parameter("b245", {2, 4, 5});
  Var a2345 = g.parameter("a2345", {2, 3, 4, 5}), b356 = g.parameter("b356", {3, 5, 6});

  REQUIRE_THROWS_WITH(matmul(a23, b45), Catch::Contains("matmul: inner dimensions 3 and 4 do not match") &&
                                            Catch::Contains("f32(2,3) x f32(4,5)"));
  REQUIRE_THROWS_WITH(matmul(a23, b35, true, false),
                      Catch::Contains("inner dimensions 2 and 3") && Catch::Contains("f32(2,3)^T x f32(3,5)"));
  REQUIRE_THROWS_WITH(matmul(a23, b35, false, true),
                      Catch::Contains("inner dimensions 3 and 5") && Catch::Contains("f32(2,3) x f32(3,5)^T"));
  REQUIRE_THROWS_WITH(matmul(v3, b35), Catch::Contains("matmul: operands need rank >= 2") && Catch::Contains("f32(3)"));
  REQUIRE_THROWS_WITH(matmul(b35, v3), Catch::Contains("matmul: operands need rank >= 2"));
  REQUIRE_THROWS_WITH(matmul(ids, b35), Catch::Contains("matmul: needs a floating-point tensor") && Catch::Contains("i32(2,3)"));
  REQUIRE_THROWS_WITH(matmul(b35, ids, false, true), Catch::Contains("matmul: b must be f32"));
  REQUIRE_THROWS_WITH(matmul(a234, b345), Catch::Contains("matmul: b must have a's batch dims or be 2-D") &&
                                              Catch::Contains("f32(2,3,4) x f32(3,4,5)"));
  REQUIRE_THROWS_WITH(matmul(a23, g.parameter("b253", {2, 5, 3}), false, true),
                      Catch::Contains("b must have a's batch dims") && Catch::Contains("f32(2,3) x f32(2,5,3)^T"));
  REQUIRE_THROWS_WITH(matmul(a2345, b356),
                      Catch::Contains("b must have a's batch dims") && Catch::Contains("f32(2,3,4,5) x f32(3,5,6)"));
  CHECK(matmul(a234, b245).shape() == Shape{2, 3, 5});
  CHECK(matmul(a2345, g.parameter("w", {6, 5}), false, true).shape() == Shape{2, 3, 4, 6});
}
