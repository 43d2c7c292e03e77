// Cross-backend cases for reductions: axis sets, keepdim, sum_to, ties, NaN, empty inputs, builder errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

enum class Kind { sum, mean, max };

std::vector<int> normalized(const std::vector<int64_t>& axes, size_t rank) {
  std::vector<int> out;
  if (axes.empty())
    for (size_t d = 0; d < rank; ++d) out.push_back(static_cast<int>(d));
  for (int64_t a : axes) out.push_back(normalize_axis(a, rank));
  std::sort(out.begin(), out.end());
  return out;
}

bool reduced_axis(const std::vector<int>& axes, size_t d) {
  return std::find(axes.begin(), axes.end(), static_cast<int>(d)) != axes.end();
}

// Flat index into the reduced tensor of element `flat` of x, and whether it is the first
// element of its group (every reduced coordinate zero).
int64_t reduced_index(const Shape& shape, const std::vector<int>& axes, int64_t flat) {
  std::vector<int64_t> coord(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coord[d] = flat % shape[d];
    flat /= shape[d];
  }
  int64_t index = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!reduced_axis(axes, d)) index = index * shape[d] + coord[d];
  return index;
}

Shape ref_reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!reduced_axis(axes, d)) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

RefTensor ref_reduce(const RefTensor& x, const std::vector<int64_t>& axes_in, bool keepdim, Kind kind) {
  const std::vector<int> axes = normalized(axes_in, x.shape.size());
  RefTensor out(ref_reduced_shape(x.shape, axes, keepdim));
  if (kind == Kind::max) std::fill(out.data.begin(), out.data.end(), -INFINITY);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t o = reduced_index(x.shape, axes, i);
    out[o] = kind == Kind::max ? std::max(out[o], x[i]) : out[o] + x[i];
  }
  if (kind == Kind::mean) {
    int64_t count = 1;
    for (int a : axes) count *= x.shape[static_cast<size_t>(a)];
    for (double& v : out.data) v /= static_cast<double>(count);
  }
  return out;
}

// dx = 0 except dy at the first maximum of each group.
RefTensor ref_max_backward(const RefTensor& x, const RefTensor& dy, const std::vector<int64_t>& axes_in) {
  const std::vector<int> axes = normalized(axes_in, x.shape.size());
  RefTensor y = ref_reduce(x, axes_in, false, Kind::max);
  RefTensor dx(x.shape);
  std::vector<bool> done(static_cast<size_t>(y.numel()), false);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t o = reduced_index(x.shape, axes, i);
    if (!done[static_cast<size_t>(o)] && x[i] == y[o]) {
      dx[i] = dy[o];
      done[static_cast<size_t>(o)] = true;
    }
  }
  return dx;
}

Var build_reduce(Kind kind, Var x, const std::vector<int64_t>& axes, bool keepdim) {
  switch (kind) {
    case Kind::sum:
      return sum(x, axes, keepdim);
    case Kind::mean:
      return mean(x, axes, keepdim);
    case Kind::max:
      return max(x, axes, keepdim);
  }
  return Var();
}

const char* kind_name(Kind kind) { return kind == Kind::sum ? "sum" : kind == Kind::mean ? "mean" : "max"; }

void check_reduce(Kind kind, const Shape& shape, const std::vector<int64_t>& axes, bool keepdim, bool gradient = true) {
  OpCase c{
      std::string(kind_name(kind)) + " " + shape_str(shape) + " axes " + shape_str(axes) + (keepdim ? " keepdim" : ""),
      {{"x", shape}},
      [=](auto& v) { return build_reduce(kind, v[0], axes, keepdim); },
      [=](const auto& r) { return ref_reduce(r[0], axes, keepdim, kind); }};
  c.check_gradient = gradient;
  check_op(c);
}

// Runs `out` on the CPU backend with the given f32 inputs bound by name.
std::vector<double> run_cpu(Graph& g, Var out, const std::vector<std::pair<std::string, Tensor>>& inputs) {
  Executor exec(g, cpu_backend(), {out}, ExecutorOptions{.poison = true});
  for (const auto& [name, value] : inputs) exec.bind(name, value);
  exec.run();
  return exec.value(out).to_f64();
}

Tensor values(const Shape& shape, std::vector<float> v) { return Tensor::from_vector<float>(shape, v); }

}  // namespace

TEST_CASE("ops/reduce sum over rows, columns, middles and all axes") {
  for (bool keepdim : {false, true}) {
    check_reduce(Kind::sum, {17}, {}, keepdim);
    check_reduce(Kind::sum, {3, 17}, {1}, keepdim);
    check_reduce(Kind::sum, {3, 17}, {0}, keepdim);
    check_reduce(Kind::sum, {3, 17}, {-1, 0}, keepdim);
    check_reduce(Kind::sum, {2, 3, 130}, {1}, keepdim);
    check_reduce(Kind::sum, {2, 3, 130}, {0, 2}, keepdim);
    check_reduce(Kind::sum, {2, 3, 130}, {0, 1}, keepdim);
    check_reduce(Kind::sum, {2, 3, 5, 7}, {1, 3}, keepdim);
    check_reduce(Kind::sum, {5, 1, 7}, {1}, keepdim);
    check_reduce(Kind::sum, {1, 130}, {0}, keepdim);
  }
  check_reduce(Kind::sum, {}, {}, false);
  check_reduce(Kind::sum, {130, 1}, {-1}, false);
}

TEST_CASE("ops/reduce sum takes the threaded paths on large inputs") {
  check_reduce(Kind::sum, {1 << 17}, {}, false, false);        // one long row split into pieces
  check_reduce(Kind::sum, {3, 40000}, {1}, false, false);      // a few long rows
  check_reduce(Kind::sum, {4096, 17}, {0}, false, false);      // bias gradient: partial column sums
  check_reduce(Kind::sum, {8, 2000, 3}, {0, 2}, true, false);  // many outputs
  check_reduce(Kind::sum, {64, 17, 130}, {0, 1}, false, false);
  check_reduce(Kind::sum, {3, 130, 170}, {1}, false, false);  // middle axis, partial column sums
  check_reduce(Kind::sum, {3, 5000}, {0}, false, false);      // columns wider than one block
  check_reduce(Kind::sum, {20, 3, 5000}, {1}, true, false);
}

TEST_CASE("ops/reduce mean") {
  for (bool keepdim : {false, true}) {
    check_reduce(Kind::mean, {17}, {}, keepdim);
    check_reduce(Kind::mean, {3, 17}, {1}, keepdim);
    check_reduce(Kind::mean, {3, 17}, {0}, keepdim);
    check_reduce(Kind::mean, {2, 3, 130}, {0, 2}, keepdim);
    check_reduce(Kind::mean, {2, 3, 130}, {-2}, keepdim);
  }
  check_reduce(Kind::mean, {3, 40000}, {1}, false, false);
  check_reduce(Kind::mean, {4096, 17}, {0}, false, false);
}

TEST_CASE("ops/reduce max and its gradient to the maximum") {
  for (bool keepdim : {false, true}) {
    check_reduce(Kind::max, {17}, {}, keepdim);
    check_reduce(Kind::max, {3, 17}, {1}, keepdim);
    check_reduce(Kind::max, {3, 17}, {0}, keepdim);
    check_reduce(Kind::max, {2, 3, 130}, {0, 2}, keepdim);
    check_reduce(Kind::max, {2, 3, 130}, {1}, keepdim);
    check_reduce(Kind::max, {5, 1, 7}, {1}, keepdim);
  }
  check_reduce(Kind::max, {1 << 17}, {}, false, false);
  check_reduce(Kind::max, {3, 40000}, {1}, false, false);
  check_reduce(Kind::max, {4096, 17}, {0}, false, false);
  check_reduce(Kind::max, {3, 5000}, {0}, false, false);
}

TEST_CASE("ops/reduce max_backward directly, rows and columns") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{3, 17}, {1}},   {{3, 17}, {0}},   {{2, 3, 130}, {0, 2}}, {{4, 600}, {0}},
      {{2, 5, 3}, {1}}, {{3, 4500}, {0}}, {{300, 200}, {1}},     {{300, 200}, {0}}};
  for (const auto& [shape, axes] : cases) {
    const std::vector<int> norm = normalized(axes, shape.size());
    const Shape reduced = ref_reduced_shape(shape, norm, false);
    check_op({"max_backward " + shape_str(shape) + " axes " + shape_str(axes),
              {{"x", shape}, {"dy", reduced}},
              [axes, norm](auto& v) {
                return max_backward(v[0], max(v[0], axes), v[1], ReduceAttrs{norm, false});
              },
              [axes](const auto& r) { return ref_max_backward(r[0], r[1], axes); },
              1e-6,
              2e-3,
              false});
  }
}

TEST_CASE("ops/reduce max gradient goes to the first of tied maxima") {
  Graph g;
  Var x = g.parameter("x", {2, 3});
  Var loss = add(sum_all(mul_scalar(max(x, {1}), 10.0)), sum_all(max(x, {0})));
  Gradients grads = backward(loss);
  // x = [[1, 3, 3], [3, 3, 0]]: row maxima first at (0,1) and (1,0) (weight 10); column
  // maxima at (1,0), (0,1) (a tie: the first row wins) and (0,2) (weight 1).
  std::vector<double> dx = run_cpu(g, grads["x"], {{"x", values({2, 3}, {1, 3, 3, 3, 3, 0})}});
  CHECK(dx == std::vector<double>{0, 11, 1, 11, 0, 0});
}

TEST_CASE("ops/reduce max propagates NaN and routes its gradient to the first NaN") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Graph g;
  Var x = g.parameter("x", {2, 4});
  Var rows = max(x, {1});
  Var cols = max(x, {0});
  Executor exec(g, cpu_backend(), {rows, cols});
  exec.bind("x", values({2, 4}, {1, nan, 5, nan, 2, 3, 4, 0}));
  exec.run();
  std::vector<double> r = exec.value(rows).to_f64(), c = exec.value(cols).to_f64();
  CHECK(std::isnan(r[0]));
  CHECK(r[1] == 4);
  CHECK((c[0] == 2 && std::isnan(c[1]) && c[2] == 5 && std::isnan(c[3])));

  Graph gb;
  Var xb = gb.input("x", {2, 4});
  Var dy = gb.input("dy", {2});
  Var dx = max_backward(xb, max(xb, {1}), dy, ReduceAttrs{{1}, false});
  std::vector<double> d =
      run_cpu(gb, dx, {{"x", values({2, 4}, {1, nan, 5, nan, 2, 3, 4, 0})}, {"dy", values({2}, {10, 20})}});
  CHECK(d == std::vector<double>{0, 10, 0, 0, 0, 0, 20, 0});
}

TEST_CASE("ops/reduce empty inputs: sum is 0, mean is NaN") {
  Graph g;
  Var x = g.input("x", {0, 3});
  Var s = sum(x, {0});
  Var m = mean(x, {0}, true);
  Var s_all = sum_all(x);
  Executor exec(g, cpu_backend(), {s, m, s_all}, ExecutorOptions{.poison = true});
  exec.bind("x", Tensor::zeros({0, 3}));
  exec.run();
  CHECK(exec.value(s).to_f64() == std::vector<double>{0, 0, 0});
  CHECK(exec.value(m).shape() == Shape{1, 3});
  for (double v : exec.value(m).to_f64()) CHECK(std::isnan(v));
  CHECK(exec.value(s_all).to_f64() == std::vector<double>{0});
}

TEST_CASE("ops/reduce sum_all and sum_to, the adjoint of broadcasting") {
  check_op({"sum_all",
            {{"x", {3, 17, 5}}},
            [](auto& v) { return sum_all(v[0]); },
            [](const auto& r) { return ref_reduce(r[0], {}, false, Kind::sum); }});
  struct Case {
    Shape from, to;
    std::vector<int64_t> axes;  // reference: sum over these with keepdim, then reshape
  };
  const std::vector<Case> cases = {
      {{2, 3, 4}, {3, 1}, {0, 2}}, {{2, 3, 4}, {4}, {0, 1}}, {{2, 3, 4}, {1, 1, 1}, {0, 1, 2}},
      {{2, 3}, {}, {0, 1}},        {{17, 130}, {130}, {0}},  {{1, 3}, {3}, {0}},
      {{4, 1, 3}, {1, 1, 3}, {0}}, {{2, 3}, {2, 3}, {}},     {{3, 17}, {3, 1}, {1}},
  };
  for (const Case& sc : cases) {
    check_op({"sum_to " + shape_str(sc.from) + " -> " + shape_str(sc.to),
              {{"x", sc.from}},
              [sc](auto& v) { return sum_to(v[0], sc.to); },
              [sc](const auto& r) {
                RefTensor out = sc.axes.empty() ? r[0] : ref_reduce(r[0], sc.axes, true, Kind::sum);
                out.shape = sc.to;
                return out;
              }});
  }
  Graph g;
  Var x = g.parameter("x", {2, 3});
  CHECK(sum_to(x, {2, 3}).id() == x.id());
  CHECK(sum_to(x, {1, 3}).id() != x.id());
}

TEST_CASE("ops/reduce builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {2, 3});
  Var ids = g.input("ids", {2, 3}, DType::i32);
  Var empty = g.input("empty", {0, 3});
  REQUIRE_THROWS_WITH(sum(x, {2}),
                      Catch::Contains("sum") && Catch::Contains("axes [2] out of range") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(mean(x, {-3}), Catch::Contains("mean") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(max(x, {1, -1}), Catch::Contains("max") && Catch::Contains("repeat"));
  REQUIRE_THROWS_WITH(sum(ids, {0}), Catch::Contains("sum") && Catch::Contains("i32(2,3)"));
  REQUIRE_THROWS_WITH(max(empty, {0}), Catch::Contains("max") && Catch::Contains("empty") && Catch::Contains("(0,3)"));
  REQUIRE_THROWS_WITH(sum_to(x, {4, 3}),
                      Catch::Contains("sum_to") && Catch::Contains("(4,3)") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(sum_to(x, {1, 2, 3}), Catch::Contains("sum_to") && Catch::Contains("(1,2,3)"));
  REQUIRE_THROWS_WITH(sum_to(x, {2}), Catch::Contains("sum_to") && Catch::Contains("(2)"));

  Var y = max(x, {1});
  REQUIRE_THROWS_WITH(max_backward(x, y, g.parameter("dy", {3}), ReduceAttrs{{1}, false}),
                      Catch::Contains("max_backward") && Catch::Contains("(2)"));
  REQUIRE_THROWS_WITH(max_backward(x, y, y, ReduceAttrs{{1}, true}),
                      Catch::Contains("max_backward") && Catch::Contains("(2,1)"));
  REQUIRE_THROWS_WITH(max_backward(x, y, y, ReduceAttrs{{2}, false}),
                      Catch::Contains("max_backward") && Catch::Contains("axes"));
  REQUIRE_THROWS_WITH(max_backward(x, y, y, ReduceAttrs{{1, 0}, false}), Catch::Contains("sorted"));
  REQUIRE_THROWS_WITH(max_backward(x, y, cast(y, DType::bf16), ReduceAttrs{{1}, false}),
                      Catch::Contains("max_backward") && Catch::Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(max_backward(ids, y, y, ReduceAttrs{{1}, false}), Catch::Contains("max_backward"));
}
