// Cross-backend cases for the layout family, builder errors, and the CPU kernels on 1/2/4/8-byte elements.
#include <catch2/catch.hpp>
#include <tuple>

#include "kernels/cpu/layout.h"
#include "modules/backend/backend.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

std::vector<int64_t> unravel(const Shape& shape, int64_t flat) {
  std::vector<int64_t> coord(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coord[d] = flat % shape[d];
    flat /= shape[d];
  }
  return coord;
}

int64_t ravel(const Shape& shape, const std::vector<int64_t>& coord) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + coord[d];
  return flat;
}

RefTensor ref_view(const RefTensor& x, const Shape& shape) {
  RefTensor out = x;
  out.shape = shape;
  return out;
}

RefTensor ref_permute(const RefTensor& x, const std::vector<int64_t>& dims) {
  Shape shape;
  for (int64_t d : dims) shape.push_back(x.shape[static_cast<size_t>(d)]);
  RefTensor out(shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> oc = unravel(shape, i), ic(dims.size());
    for (size_t k = 0; k < dims.size(); ++k) ic[static_cast<size_t>(dims[k])] = oc[k];
    out[i] = x[ravel(x.shape, ic)];
  }
  return out;
}

// axis, start, end non-negative and resolved.
RefTensor ref_slice(const RefTensor& x, size_t axis, int64_t start, int64_t end, int64_t step) {
  Shape shape = x.shape;
  shape[axis] = (end - start + step - 1) / step;
  RefTensor out(shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = unravel(shape, i);
    c[axis] = start + c[axis] * step;
    out[i] = x[ravel(x.shape, c)];
  }
  return out;
}

RefTensor ref_slice_backward(const RefTensor& dy, const Shape& shape, size_t axis, int64_t start, int64_t step) {
  RefTensor dx(shape);
  for (int64_t i = 0; i < dy.numel(); ++i) {
    std::vector<int64_t> c = unravel(dy.shape, i);
    c[axis] = start + c[axis] * step;
    dx[ravel(shape, c)] = dy[i];
  }
  return dx;
}

RefTensor ref_concat(const std::vector<RefTensor>& xs, size_t axis) {
  Shape shape = xs.front().shape;
  shape[axis] = 0;
  for (const RefTensor& x : xs) shape[axis] += x.shape[axis];
  RefTensor out(shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = unravel(shape, i);
    size_t k = 0;
    while (c[axis] >= xs[k].shape[axis]) c[axis] -= xs[k++].shape[axis];
    out[i] = xs[k][ravel(xs[k].shape, c)];
  }
  return out;
}

RefTensor ref_expand(const RefTensor& x, const Shape& shape) {
  RefTensor out(shape);
  const size_t lead = shape.size() - x.shape.size();
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> c = unravel(shape, i), ic(x.shape.size());
    for (size_t d = 0; d < x.shape.size(); ++d) ic[d] = x.shape[d] == 1 ? 0 : c[lead + d];
    out[i] = x[ravel(x.shape, ic)];
  }
  return out;
}

void check_permute(const Shape& shape, const std::vector<int64_t>& dims, bool gradient = true) {
  OpCase c{"permute " + shape_str(shape) + " by " + shape_str(dims),
           {{"x", shape}},
           [dims](auto& v) { return permute(v[0], dims); },
           [dims](const auto& r) {
             std::vector<int64_t> resolved;
             for (int64_t d : dims) resolved.push_back(d < 0 ? d + static_cast<int64_t>(r[0].shape.size()) : d);
             return ref_permute(r[0], resolved);
           }};
  c.check_gradient = gradient;
  check_op(c);
}

void check_slice(const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step, bool gradient = true) {
  OpCase c{"slice " + shape_str(shape) + " axis " + std::to_string(axis) + " [" + std::to_string(start) + ":" +
               std::to_string(end) + ":" + std::to_string(step) + "]",
           {{"x", shape}},
           [=](auto& v) { return slice(v[0], axis, start, end, step); },
           [=](const auto& r) {
             const int64_t rank = static_cast<int64_t>(shape.size());
             const size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
             const int64_t n = shape[a];
             return ref_slice(r[0], a, start < 0 ? start + n : start, end < 0 ? end + n : end, step);
           }};
  c.check_gradient = gradient;
  check_op(c);
}

void check_expand(const Shape& from, const Shape& to, bool gradient = true) {
  OpCase c{"expand " + shape_str(from) + " -> " + shape_str(to),
           {{"x", from}},
           [to](auto& v) { return expand(v[0], to); },
           [to](const auto& r) { return ref_expand(r[0], to); }};
  c.check_gradient = gradient;
  check_op(c);
}

}  // namespace

TEST_CASE("ops/layout view and reshape alias the input") {
  struct Case {
    Shape from, to, resolved;
  };
  const std::vector<Case> cases = {{{3, 17}, {17, 3}, {17, 3}}, {{2, 3, 4}, {-1, 4}, {6, 4}},
                                   {{6}, {1, 6, 1}, {1, 6, 1}}, {{1}, {}, {}},
                                   {{2, 65}, {130}, {130}},     {{0, 3}, {3, 0}, {3, 0}}};
  for (const Case& vc : cases)
    check_op({"view " + shape_str(vc.from) + " -> " + shape_str(vc.to),
              {{"x", vc.from}},
              [vc](auto& v) { return view(v[0], vc.to); },
              [vc](const auto& r) { return ref_view(r[0], vc.resolved); }});
  check_op({"reshape of a computed value",
            {{"x", {3, 17}}},
            [](auto& v) {
              return reshape(mul_scalar(v[0], 2.0), {17, -1});
            },
            [](const auto& r) {
              RefTensor out = ref_view(r[0], {17, 3});
              for (double& x : out.data) x *= 2.0;
              return out;
            }});
  Graph g;
  Var x = g.parameter("x", {2, 3});
  CHECK(view(x, {2, 3}).id() == x.id());
  Var v = view(x, {3, 2});
  CHECK(v.node().op == OpKind::view);
  CHECK(cpu_backend().supports(v.node()) == false);  // the executor aliases views itself
}

TEST_CASE("ops/layout permute: every order of a 3-D tensor") {
  const std::vector<std::vector<int64_t>> orders = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (const auto& dims : orders) check_permute({2, 3, 17}, dims);
  check_permute({3, 17, 5}, {-1, 0, -2});
  check_permute({37, 45}, {1, 0});
  check_permute({2, 17, 4, 8}, {0, 2, 1, 3});  // (B, T, H, D) -> (B, H, T, D): row copies
  check_permute({2, 3, 5, 7}, {3, 1, 0, 2});
  check_permute({1, 1}, {1, 0});
  check_permute({}, {});
}

TEST_CASE("ops/layout permute of large tensors takes the tiled and threaded paths") {
  check_permute({130, 170}, {1, 0}, false);
  check_permute({64, 130, 33}, {2, 1, 0}, false);
  check_permute({4, 130, 65}, {0, 2, 1}, false);
  check_permute({8, 64, 12, 17}, {0, 2, 1, 3}, false);
  check_permute({3, 1, 131, 1, 67}, {4, 1, 3, 0, 2}, false);
}

TEST_CASE("ops/layout permute moving only size-1 dims is a view") {
  Graph g;
  Var x = g.parameter("x", {4, 1, 3});
  CHECK(permute(x, {1, 0, 2}).node().op == OpKind::view);
  CHECK(permute(x, {0, 2, 1}).node().op == OpKind::view);
  CHECK(permute(x, {2, 1, 0}).node().op == OpKind::permute);
  CHECK(permute(x, {0, 1, 2}).id() == x.id());
  check_permute({4, 1, 3}, {1, 0, 2});
}

TEST_CASE("ops/layout transpose") {
  check_op({"transpose (3,17) 0 1",
            {{"x", {3, 17}}},
            [](auto& v) { return transpose(v[0], 0, 1); },
            [](const auto& r) {
              return ref_permute(r[0], {1, 0});
            }});
  check_op({"transpose (2,3,5) -1 -2",
            {{"x", {2, 3, 5}}},
            [](auto& v) { return transpose(v[0], -1, -2); },
            [](const auto& r) {
              return ref_permute(r[0], {0, 2, 1});
            }});
  Graph g;
  Var x = g.parameter("x", {2, 3});
  CHECK(transpose(x, 1, -1).id() == x.id());
}

TEST_CASE("ops/layout slice with steps, negative bounds and empty results") {
  check_slice({17, 130}, 1, 3, 100, 1);
  check_slice({17, 130}, 1, 3, 100, 3);
  check_slice({17, 130}, 0, 1, 17, 4);
  check_slice({17, 130}, -1, -30, -1, 7);
  check_slice({2, 3, 130}, 1, 1, 3, 1);
  check_slice({2, 3, 130}, 1, 0, 3, 2);
  check_slice({2, 3, 130}, 0, 1, 2, 1);
  check_slice({130}, 0, 5, 5, 1);
  check_slice({3, 17}, 1, 16, 17, 5);
  check_slice({64, 1000}, 1, 10, 900, 2, false);
  check_slice({64, 1000}, 0, 3, 61, 1, false);
  check_slice({40, 30, 50}, 1, 2, 29, 3, false);
  Graph g;
  Var x = g.parameter("x", {2, 3});
  CHECK(slice(x, 1, 0, 3).id() == x.id());
  CHECK(slice(x, 1, -3, 3).id() == x.id());
}

TEST_CASE("ops/layout slice_backward places dy into zeros") {
  struct Case {
    Shape input;
    int axis;
    int64_t start, end, step;
  };
  const std::vector<Case> cases = {{{17, 130}, 1, 3, 100, 3},
                                   {{17, 130}, 0, 2, 17, 1},
                                   {{2, 3, 130}, 2, 0, 130, 7},
                                   {{2, 3, 5}, 1, 1, 1, 1},
                                   {{64, 1000}, 1, 10, 900, 2}};
  for (const Case& sc : cases) {
    Shape dy_shape = sc.input;
    dy_shape[static_cast<size_t>(sc.axis)] = (sc.end - sc.start + sc.step - 1) / sc.step;
    check_op({"slice_backward " + shape_str(sc.input) + " axis " + std::to_string(sc.axis),
              {{"dy", dy_shape}},
              [sc](auto& v) {
                return slice_backward(v[0], sc.input, SliceAttrs{sc.axis, sc.start, sc.end, sc.step});
              },
              [sc](const auto& r) {
                return ref_slice_backward(r[0], sc.input, static_cast<size_t>(sc.axis), sc.start, sc.step);
              },
              1e-6,
              2e-3,
              false});
  }
}

TEST_CASE("ops/layout concat along any axis, with empty and repeated inputs") {
  check_op({"concat axis 0",
            {{"a", {3, 17}}, {"b", {5, 17}}},
            [](auto& v) {
              return concat({v[0], v[1]}, 0);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[1]}, 0);
            }});
  check_op({"concat three axis 1",
            {{"a", {2, 3, 4}}, {"b", {2, 1, 4}}, {"c", {2, 7, 4}}},
            [](auto& v) {
              return concat({v[0], v[1], v[2]}, 1);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[1], r[2]}, 1);
            }});
  check_op({"concat axis -1",
            {{"a", {3, 1, 17}}, {"b", {3, 1, 130}}},
            [](auto& v) {
              return concat({v[0], v[1]}, -1);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[1]}, 2);
            }});
  check_op({"concat with an empty input",
            {{"a", {2, 0}}, {"b", {2, 3}}},
            [](auto& v) {
              return concat({v[0], v[1]}, 1);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[1]}, 1);
            }});
  check_op({"concat the same input twice",
            {{"a", {3, 5}}},
            [](auto& v) {
              return concat({v[0], v[0]}, 0);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[0]}, 0);
            }});
  check_op({"concat large",
            {{"a", {300, 100}}, {"b", {300, 30}}},
            [](auto& v) {
              return concat({v[0], v[1]}, 1);
            },
            [](const auto& r) {
              return ref_concat({r[0], r[1]}, 1);
            },
            1e-6,
            2e-3,
            false});
  Graph g;
  Var x = g.parameter("x", {2, 3});
  CHECK(concat({x}, 0).id() == x.id());
}

TEST_CASE("ops/layout split into slices") {
  check_op(
      {"split (3,17) into 2,0,4,11",
       {{"x", {3, 17}}},
       [](auto& v) {
         std::vector<Var> parts = split(v[0], {2, 0, 4, 11}, -1);
         REQUIRE(parts.size() == 4);
         REQUIRE(parts[1].shape() == Shape{3, 0});
         return concat({parts[3], parts[0], parts[1], parts[2]}, 1);
       },
       [](const auto& r) {
         return ref_concat({ref_slice(r[0], 1, 6, 17, 1), ref_slice(r[0], 1, 0, 2, 1), ref_slice(r[0], 1, 2, 6, 1)}, 1);
       }});
  Graph g;
  Var x = g.parameter("x", {4, 3});
  std::vector<Var> whole = split(x, {4}, 0);
  CHECK((whole.size() == 1 && whole[0].id() == x.id()));
}

TEST_CASE("ops/layout expand broadcasts numpy-style and sums back in the gradient") {
  check_expand({3}, {2, 3});
  check_expand({3, 1}, {3, 17});
  check_expand({1}, {130});
  check_expand({}, {2, 3});
  check_expand({2, 1, 5}, {4, 2, 3, 5});
  check_expand({1, 17, 1}, {3, 17, 5});
  check_expand({1, 1}, {0, 1});
  check_expand({1, 130}, {300, 130}, false);
  check_expand({300, 1}, {300, 130}, false);
  check_expand({1, 7, 1}, {4000, 7, 2}, false);
  Graph g;
  Var x = g.parameter("x", {3});
  CHECK(expand(x, {3}).id() == x.id());
  CHECK(expand(x, {1, 3}).node().op == OpKind::view);
  CHECK(expand(x, {2, 3}).node().op == OpKind::expand);
}

TEST_CASE("ops/layout kernels copy elements of 1, 2, 4 and 8 bytes exactly") {
  // Reference tensors hold 1 + the source index of every output element (0: a written zero);
  // the kernels move distinct bit patterns of each width.
  auto check_width = [](auto tag) {
    using T = decltype(tag);
    auto pattern = [](double index_plus_one) {
      if (index_plus_one == 0.0) return T{0};
      return static_cast<T>(static_cast<uint64_t>(index_plus_one) * 0x9E3779B97F4A7C15ull | 1u);
    };
    auto source = [&](const Shape& shape) {
      RefTensor ref(shape);
      std::vector<T> data(static_cast<size_t>(ref.numel()));
      for (int64_t i = 0; i < ref.numel(); ++i) {
        ref[i] = static_cast<double>(i + 1);
        data[static_cast<size_t>(i)] = pattern(ref[i]);
      }
      return std::make_pair(ref, data);
    };
    auto expect = [&](const std::vector<T>& got, const RefTensor& ref) {
      REQUIRE(got.size() == ref.data.size());
      bool same = true;
      for (size_t i = 0; i < got.size(); ++i) same = same && got[i] == pattern(ref.data[i]);
      CHECK(same);
    };
    INFO("element size " << sizeof(T));
    for (const auto& [shape, dims] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
             {{3, 17, 5}, {2, 0, 1}}, {{70, 33}, {1, 0}}, {{2, 5, 3, 4}, {0, 2, 1, 3}}, {{40, 2, 300}, {2, 1, 0}}}) {
      auto [ref, x] = source(shape);
      std::vector<T> y(x.size());
      cpu::permute_copy(x.data(), y.data(), shape, dims, sizeof(T));
      expect(y, ref_permute(ref, dims));
    }
    {
      auto [ref, x] = source({4, 30, 3});
      for (const auto& [start, end, step] :
           std::vector<std::tuple<int64_t, int64_t, int64_t>>{{2, 29, 1}, {1, 30, 4}}) {
        const RefTensor sliced = ref_slice(ref, 1, start, end, step);
        std::vector<T> y(static_cast<size_t>(sliced.numel()));
        cpu::slice_copy(x.data(), y.data(), 4, 30, 3, start, sliced.shape[1], step, sizeof(T));
        expect(y, sliced);
        std::vector<T> dx(x.size(), T{7});
        cpu::slice_backward_copy(y.data(), dx.data(), 4, 30, 3, start, sliced.shape[1], step, sizeof(T));
        expect(dx, ref_slice_backward(sliced, ref.shape, 1, start, step));
      }
      const RefTensor column = ref_slice(ref_view(ref, {120, 3}), 1, 1, 3, 2);  // inner == 1
      std::vector<T> y(static_cast<size_t>(column.numel()));
      cpu::slice_copy(x.data(), y.data(), 120, 3, 1, 1, 1, 2, sizeof(T));
      expect(y, column);
    }
    {
      auto [a_ref, a] = source({3, 2, 5});
      auto [b_ref, b] = source({3, 4, 5});
      for (double& v : b_ref.data) v += static_cast<double>(a.size());
      for (size_t i = 0; i < b.size(); ++i) b[i] = pattern(b_ref.data[i]);
      std::vector<T> y(a.size() + b.size());
      cpu::concat_copy({a.data(), b.data()}, {2, 4}, y.data(), 3, 5, sizeof(T));
      expect(y, ref_concat({a_ref, b_ref}, 1));
    }
    for (const auto& [from, to] : std::vector<std::pair<Shape, Shape>>{{{3, 1}, {2, 3, 70}}, {{1, 7}, {50, 7}}}) {
      auto [ref, x] = source(from);
      const RefTensor expanded = ref_expand(ref, to);
      std::vector<T> y(static_cast<size_t>(expanded.numel()));
      cpu::expand_copy(x.data(), y.data(), from, to, sizeof(T));
      expect(y, expanded);
    }
  };
  check_width(uint8_t{});
  check_width(uint16_t{});
  check_width(uint32_t{});
  check_width(uint64_t{});
  std::vector<uint8_t> bytes(6);
  REQUIRE_THROWS_WITH(cpu::permute_copy(bytes.data(), bytes.data(), {2, 1}, {1, 0}, 3),
                      Catch::Contains("element size 3"));
}

TEST_CASE("ops/layout builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {2, 3});
  Var ids = g.input("ids", {2, 4}, DType::i32);
  Var s = g.parameter("s", {});
  REQUIRE_THROWS_WITH(view(x, {4, 2}), Catch::Contains("view") && Catch::Contains("(4,2)") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(view(x, {-1, -1}), Catch::Contains("view") && Catch::Contains("two -1"));
  REQUIRE_THROWS_WITH(view(x, {-2, -3}), Catch::Contains("view") && Catch::Contains("negative"));
  REQUIRE_THROWS_WITH(view(x, {-1, 4}), Catch::Contains("view") && Catch::Contains("(-1,4)"));
  REQUIRE_THROWS_WITH(reshape(x, {0, -1}), Catch::Contains("view"));
  REQUIRE_THROWS_WITH(permute(x, {0}),
                      Catch::Contains("permute") && Catch::Contains("[0]") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(permute(x, {1, 1}), Catch::Contains("permute") && Catch::Contains("not a permutation"));
  REQUIRE_THROWS_WITH(permute(x, {0, 2}), Catch::Contains("permute") && Catch::Contains("[0,2]"));
  REQUIRE_THROWS_WITH(transpose(x, 0, 2), Catch::Contains("transpose") && Catch::Contains("axis 2"));
  REQUIRE_THROWS_WITH(slice(x, 2, 0, 1), Catch::Contains("slice") && Catch::Contains("axis 2"));
  REQUIRE_THROWS_WITH(slice(x, 1, 0, 4),
                      Catch::Contains("slice") && Catch::Contains("[0:4:1]") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(slice(x, 1, 2, 1), Catch::Contains("slice") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(slice(x, 1, -4, 3), Catch::Contains("slice"));
  REQUIRE_THROWS_WITH(slice(x, 1, 0, 3, 0), Catch::Contains("slice") && Catch::Contains("step"));
  REQUIRE_THROWS_WITH(slice_backward(x, {2, 5}, SliceAttrs{1, 0, 4, 1}),
                      Catch::Contains("slice_backward") && Catch::Contains("(2,4)") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(slice_backward(x, {2, 3}, SliceAttrs{1, 0, 4, 1}),
                      Catch::Contains("slice_backward") && Catch::Contains("out of bounds"));
  REQUIRE_THROWS_WITH(slice_backward(x, {2, 3}, SliceAttrs{2, 0, 3, 1}),
                      Catch::Contains("slice_backward") && Catch::Contains("axis out of range"));
  REQUIRE_THROWS_WITH(slice_backward(x, {2, 6}, SliceAttrs{1, 0, 6, 0}), Catch::Contains("slice_backward"));
  REQUIRE_THROWS_WITH(concat({}, 0), Catch::Contains("concat"));
  REQUIRE_THROWS_WITH(concat({x, ids}, 1), Catch::Contains("concat") && Catch::Contains("dtypes differ"));
  REQUIRE_THROWS_WITH(concat({x, g.parameter("y", {3, 3})}, 1),
                      Catch::Contains("concat") && Catch::Contains("axis 1") && Catch::Contains("(3,3)"));
  REQUIRE_THROWS_WITH(concat({x, g.parameter("z", {2})}, 0), Catch::Contains("concat") && Catch::Contains("(2)"));
  REQUIRE_THROWS_WITH(concat({s, s}, 0), Catch::Contains("concat") && Catch::Contains("scalars"));
  REQUIRE_THROWS_WITH(concat({x, x}, 2), Catch::Contains("concat") && Catch::Contains("axis 2"));
  REQUIRE_THROWS_WITH(split(x, {1, 1}, 1),
                      Catch::Contains("split") && Catch::Contains("[1,1]") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(split(x, {4, -1}, 1), Catch::Contains("split") && Catch::Contains("negative"));
  REQUIRE_THROWS_WITH(expand(x, {4, 3}),
                      Catch::Contains("expand") && Catch::Contains("(4,3)") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(expand(x, {3}), Catch::Contains("expand") && Catch::Contains("(3)"));
  REQUIRE_THROWS_WITH(expand(x, {-1, 2, 3}), Catch::Contains("expand"));
}
