// Cross-backend cases for the embedding family: embedding, its scatter-add, RoPE (+ HF fixture).
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "kernels/cpu/embedding.h"
#include "modules/exec/executor.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

// weight (V, D), ids (...) -> (..., D)
RefTensor ref_embedding(const RefTensor& weight, const RefTensor& ids) {
  const int64_t dim = weight.shape[1];
  Shape shape = ids.shape;
  shape.push_back(dim);
  RefTensor out(shape);
  for (int64_t p = 0; p < ids.numel(); ++p)
    for (int64_t j = 0; j < dim; ++j) out[p * dim + j] = weight[static_cast<int64_t>(ids[p]) * dim + j];
  return out;
}

// ids (...), dy (..., D) -> (vocab, D)
RefTensor ref_embedding_backward(const RefTensor& ids, const RefTensor& dy, int64_t vocab) {
  const int64_t dim = dy.shape.back();
  RefTensor out({vocab, dim});
  for (int64_t p = 0; p < ids.numel(); ++p)
    for (int64_t j = 0; j < dim; ++j) out[static_cast<int64_t>(ids[p]) * dim + j] += dy[p * dim + j];
  return out;
}

// x (B, H, T, D), positions (T): the rotate-half rotation in float64.
RefTensor ref_rope(const RefTensor& x, const RefTensor& positions, double theta, double scale, bool inverse) {
  const int64_t T = x.shape[2], D = x.shape[3], half = D / 2;
  RefTensor out(x.shape);
  for (int64_t r = 0; r < x.numel() / D; ++r) {
    const double pos = positions[r % T] / scale;
    for (int64_t i = 0; i < half; ++i) {
      const double angle =
          (inverse ? -1.0 : 1.0) * pos / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(D));
      const double a = x[r * D + i], b = x[r * D + i + half];
      out[r * D + i] = a * std::cos(angle) - b * std::sin(angle);
      out[r * D + i + half] = b * std::cos(angle) + a * std::sin(angle);
    }
  }
  return out;
}

// Runs `out` on the CPU backend with the given bindings; returns its values.
std::vector<double> run_cpu(Graph& g, Var out, const std::vector<std::pair<std::string, Tensor>>& bindings) {
  Executor exec(g, cpu_backend(), {out}, ExecutorOptions{.poison = true});
  for (const auto& [name, value] : bindings) exec.bind(name, value);
  exec.run();
  return exec.value(out).to_f64();
}

}  // namespace

TEST_CASE("ops/embedding lookup and gradient with repeated ids") {
  struct Case {
    int64_t vocab, dim;
    Shape ids;
  };
  const Case cases[] = {{7, 5, {3, 4}}, {3, 130, {17}}, {1, 1, {1}}, {130, 3, {2, 3, 2}}, {5, 17, {}}, {4, 2, {0}}};
  for (const Case& c : cases) {
    const int64_t vocab = c.vocab;
    check_op({"embedding " + shape_str({c.vocab, c.dim}) + " ids " + shape_str(c.ids),
              {{"weight", {c.vocab, c.dim}}, {"ids", c.ids, Fill::integer, false, 0, c.vocab}},
              [](auto& v) { return embedding(v[0], v[1]); },
              [](const auto& r) { return ref_embedding(r[0], r[1]); }});
    Shape dy = c.ids;
    dy.push_back(c.dim);
    check_op({"embedding_backward ids " + shape_str(c.ids),
              {{"ids", c.ids, Fill::integer, false, 0, c.vocab}, {"dy", dy, Fill::normal, false}},
              [vocab](auto& v) { return embedding_backward(v[0], v[1], vocab); },
              [vocab](const auto& r) { return ref_embedding_backward(r[0], r[1], vocab); },
              1e-5,
              2e-3,
              false});
  }
}

TEST_CASE("ops/embedding id out of range throws naming the id and position") {
  Graph g;
  Var weight = g.parameter("weight", {32000, 2});
  Var ids = g.input("ids", {20}, DType::i32);
  Var out = embedding(weight, ids);
  std::vector<int32_t> values(20, 5);
  values[12] = 70000;
  REQUIRE_THROWS_WITH(
      run_cpu(g, out, {{"weight", Tensor::zeros({32000, 2})}, {"ids", Tensor::from_vector({20}, values)}}),
      "embedding: id 70000 at position 12 out of range [0, 32000)");
  values[12] = 5;
  values[0] = -1;
  REQUIRE_THROWS_WITH(
      run_cpu(g, out, {{"weight", Tensor::zeros({32000, 2})}, {"ids", Tensor::from_vector({20}, values)}}),
      "embedding: id -1 at position 0 out of range [0, 32000)");

  std::vector<float> dy(6, 1.0f), dweight(8);
  const int32_t bad[] = {0, 3, 4};
  REQUIRE_THROWS_WITH(cpu::embedding_backward_f32(bad, 3, dy.data(), 4, 2, dweight.data()),
                      "embedding_backward: id 4 at position 2 out of range [0, 4)");
}

TEST_CASE("ops/embedding_backward sums in a fixed order whatever the thread count") {
  // Many repeats of each id, big enough to run threaded: every row is the float64 sum in
  // position order rounded once, so one thread and all threads agree bit for bit.
  const int64_t n = 20000, vocab = 40, dim = 64;
  std::vector<int32_t> ids(n);
  std::vector<float> dy(static_cast<size_t>(n * dim));
  for (int64_t p = 0; p < n; ++p) ids[static_cast<size_t>(p)] = static_cast<int32_t>((p * 7) % (vocab - 1));
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  std::vector<float> threaded(static_cast<size_t>(vocab * dim), NAN), single(threaded.size(), NAN);
  cpu::embedding_backward_f32(ids.data(), n, dy.data(), vocab, dim, threaded.data());
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  cpu::embedding_backward_f32(ids.data(), n, dy.data(), vocab, dim, single.data());
  omp_set_num_threads(threads);
  CHECK(threaded == single);
  for (int64_t v = 0; v < vocab; ++v)
    for (int64_t j = 0; j < dim; ++j) {
      double expected = 0.0;
      for (int64_t p = 0; p < n; ++p)
        if (ids[static_cast<size_t>(p)] == v) expected += static_cast<double>(dy[static_cast<size_t>(p * dim + j)]);
      REQUIRE(threaded[static_cast<size_t>(v * dim + j)] == static_cast<float>(expected));  // id 39: no hits, 0
    }
}

TEST_CASE("ops/embedding builder errors name the op and shapes") {
  Graph g;
  Var weight = g.parameter("weight", {7, 5}), w3 = g.parameter("w3", {7, 5, 1}), fids = g.parameter("fids", {3});
  Var ids = g.input("ids", {3, 4}, DType::i32), dy = g.parameter("dy", {3, 4, 5}),
      bad_dy = g.parameter("bad_dy", {4, 3, 5});
  REQUIRE_THROWS_WITH(embedding(w3, ids),
                      Catch::Contains("embedding: weight must have rank 2") && Catch::Contains("(7,5,1)"));
  REQUIRE_THROWS_WITH(embedding(weight, fids),
                      Catch::Contains("embedding: ids must be i32") && Catch::Contains("f32(3)"));
  REQUIRE_THROWS_WITH(embedding(ids, ids), Catch::Contains("embedding: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(
      embedding_backward(ids, bad_dy, 7),
      Catch::Contains("embedding_backward: dy must have the shape of ids") && Catch::Contains("i32(3,4), f32(4,3,5)"));
  REQUIRE_THROWS_WITH(embedding_backward(ids, ids, 7), Catch::Contains("embedding_backward: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(embedding_backward(fids, dy, 7), Catch::Contains("embedding_backward: ids must be i32"));
  REQUIRE_THROWS_WITH(embedding_backward(ids, dy, -1), Catch::Contains("embedding_backward: vocabulary size -1"));
  CHECK(embedding_backward(ids, dy, 11).shape() == Shape{11, 5});
}

TEST_CASE("ops/embedding rope rotates pairs by position") {
  struct Case {
    Shape x;
    double theta, scale;
    bool inverse;
    int64_t max_position;
  };
  const Case cases[] = {
      {{2, 3, 5, 8}, 10000.0, 1.0, false, 50},      {{1, 17, 3, 2}, 10000.0, 1.0, false, 9},
      {{1, 1, 1, 130}, 500000.0, 1.0, false, 4096}, {{2, 2, 17, 6}, 10000.0, 4.0, false, 4096},
      {{1, 3, 4, 16}, 1000.0, 2.5, true, 300},      {{3, 1, 130, 4}, 10000.0, 1.0, true, 130},
  };
  for (const Case& c : cases) {
    check_op({"rope x " + shape_str(c.x) + (c.inverse ? " inverse" : ""),
              {{"x", c.x}, {"positions", {c.x[2]}, Fill::integer, false, 0, c.max_position}},
              [c](auto& v) { return rope(v[0], v[1], c.theta, c.scale, c.inverse); },
              [c](const auto& r) { return ref_rope(r[0], r[1], c.theta, c.scale, c.inverse); }});
  }
}

TEST_CASE("ops/embedding rope then inverse rope is the identity") {
  Graph g;
  Var x = g.parameter("x", {2, 2, 5, 12});
  Var positions = g.input("positions", {5}, DType::i32);
  Var back = rope(rope(x, positions, 10000.0, 2.0), positions, 10000.0, 2.0, true);
  std::vector<float> values(240);  // (2, 2, 5, 12)
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(std::cos(1.3 * static_cast<double>(i)));
  std::vector<double> out = run_cpu(g, back,
                                    {{"x", Tensor::from_vector({2, 2, 5, 12}, values)},
                                     {"positions", Tensor::from_vector<int32_t>({5}, {0, 3, 100, 2047, 7})}});
  for (size_t i = 0; i < values.size(); ++i) REQUIRE(out[i] == Approx(values[i]).margin(1e-6));
}

TEST_CASE("ops/embedding rope matches Hugging Face LLaMA rotary embedding") {
  std::ifstream file(std::string(HANVIT_TEST_DATA) + "/ops/rope.json");
  REQUIRE(file.good());
  const nlohmann::json fixture = nlohmann::json::parse(file);
  REQUIRE(fixture["cases"].size() >= 3);
  for (const auto& c : fixture["cases"]) {
    INFO("fixture case " << c["name"].get<std::string>());
    const Shape shape = c["shape"].get<Shape>();
    const std::vector<int32_t> positions = c["positions"].get<std::vector<int32_t>>();
    const std::vector<float> x = c["x"].get<std::vector<float>>();
    const std::vector<float> expected = c["expected"].get<std::vector<float>>();
    Graph g;
    Var xv = g.input("x", shape);
    Var pv = g.input("positions", {static_cast<int64_t>(positions.size())}, DType::i32);
    Var out = rope(xv, pv, c["theta"].get<double>(), c["position_scale"].get<double>());
    std::vector<double> ours =
        run_cpu(g, out,
                {{"x", Tensor::from_vector(shape, x)},
                 {"positions", Tensor::from_vector({static_cast<int64_t>(positions.size())}, positions)}});
    REQUIRE(ours.size() == expected.size());
    // Transformers computes angles in float32, we in float64: they differ by ~1e-5 at position 1000.
    for (size_t i = 0; i < ours.size(); ++i)
      REQUIRE(ours[i] == Approx(expected[i]).margin(2e-5 * (1.0 + std::abs(expected[i]))));
  }
}

TEST_CASE("ops/embedding rope builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {1, 2, 3, 4}), odd = g.parameter("odd", {1, 2, 3, 5}), x3 = g.parameter("x3", {2, 3, 4});
  Var pos = g.input("pos", {3}, DType::i32), pos4 = g.input("pos4", {4}, DType::i32);
  Var fpos = g.parameter("fpos", {3}), pos2d = g.input("pos2d", {1, 3}, DType::i32);
  REQUIRE_THROWS_WITH(rope(odd, pos),
                      Catch::Contains("rope: head dim 5 must be even") && Catch::Contains("f32(1,2,3,5)"));
  REQUIRE_THROWS_WITH(rope(x, pos4), Catch::Contains("rope: needs one position per time step") &&
                                         Catch::Contains("f32(1,2,3,4), i32(4)"));
  REQUIRE_THROWS_WITH(rope(x3, pos), Catch::Contains("rope: x must have rank 4") && Catch::Contains("(2,3,4)"));
  REQUIRE_THROWS_WITH(rope(x, fpos), Catch::Contains("rope: positions must be i32"));
  REQUIRE_THROWS_WITH(rope(x, pos2d), Catch::Contains("rope: positions must have rank 1"));
  REQUIRE_THROWS_WITH(rope(pos, pos), Catch::Contains("rope: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(rope(x, pos, 0.0), Catch::Contains("rope: theta must be positive"));
  REQUIRE_THROWS_WITH(rope(x, pos, INFINITY), Catch::Contains("rope: theta must be positive and finite"));
  REQUIRE_THROWS_WITH(rope(x, pos, 10000.0, -1.0), Catch::Contains("rope: position_scale must be positive"));
  REQUIRE_THROWS_WITH(rope(x, pos, 10000.0, NAN), Catch::Contains("rope: position_scale must be positive"));
}
