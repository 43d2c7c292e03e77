// Executor and autograd: memory plan safety and savings, re-runs, binding errors, views,
// gradient accumulation and inference graphs.
#include <catch2/catch.hpp>

#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"

using namespace hanvit;

namespace {

// A chain deep enough that reuse matters: x -> tanh -> *2 -> +1 -> ... (16 steps).
Var chain(Var x, int depth) {
  Var h = x;
  for (int i = 0; i < depth; ++i) h = add_scalar(mul_scalar(tanh(h), 2.0), 1.0);
  return h;
}

}  // namespace

TEST_CASE("executor memory plan never overlaps live buffers and beats the naive sum") {
  Graph g;
  Var x = g.parameter("x", {64, 64});
  Var y = chain(x, 16);
  Var loss = sum_all(mul(y, y));
  Gradients grads = backward(loss);
  Executor exec(g, cpu_backend(), {loss, grads["x"]});
  const auto& placements = exec.placements();
  REQUIRE(placements.size() > 40);
  for (size_t i = 0; i < placements.size(); ++i)
    for (size_t j = i + 1; j < placements.size(); ++j) {
      const auto& a = placements[i];
      const auto& b = placements[j];
      bool live_together = a.first_step <= b.last_step && b.first_step <= a.last_step;
      bool overlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      INFO("nodes " << a.node << " and " << b.node);
      REQUIRE_FALSE((live_together && overlap && a.bytes > 0 && b.bytes > 0));
    }
  CHECK(exec.planned_peak_bytes() < exec.naive_bytes() / 3);
}

TEST_CASE("executor re-runs with new data without rebuilding") {
  Graph g;
  Var x = g.input("x", {3});
  Var y = mul_scalar(exp(x), 2.0);
  Executor exec(g, cpu_backend(), {y});
  exec.bind("x", Tensor::from_vector<float>({3}, {0, 1, 2}));
  exec.run();
  std::vector<double> first = exec.value(y).to_f64();
  CHECK(first[1] == Approx(2 * std::exp(1.0)));
  exec.bind("x", Tensor::from_vector<float>({3}, {1, 1, 1}));
  exec.run();
  CHECK(exec.value(y).to_f64()[0] == Approx(2 * std::exp(1.0)));
  exec.bind("x", Tensor::from_vector<float>({3}, {0, 1, 2}));
  exec.run();
  CHECK(exec.value(y).to_f64() == first);
}

TEST_CASE("executor binding errors name the input") {
  Graph g;
  Var x = g.input("pixels", {2, 3});
  Var y = neg(x);
  Executor exec(g, cpu_backend(), {y});
  REQUIRE_THROWS_WITH(exec.run(), Catch::Contains("pixels") && Catch::Contains("not bound"));
  REQUIRE_THROWS_WITH(exec.bind("pixels", Tensor::zeros({3, 2})), Catch::Contains("pixels") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(exec.bind("nope", Tensor::zeros({2, 3})), Catch::Contains("nope"));
  // a non-contiguous or other-dtype tensor is copied at bind time
  Tensor src = Tensor::from_vector<int32_t>({3, 2}, {1, 2, 3, 4, 5, 6});
  exec.bind("pixels", src.transpose(0, 1));
  exec.run();
  CHECK(exec.value(y).to_f64() == std::vector<double>{-1, -3, -5, -2, -4, -6});
}

TEST_CASE("executor parameters bound by reference see in-place updates") {
  Graph g;
  Var w = g.parameter("w", {2});
  Var y = mul_scalar(w, 3.0);
  Executor exec(g, cpu_backend(), {y});
  Tensor weights = Tensor::from_vector<float>({2}, {1, 2});
  exec.bind("w", weights);
  exec.run();
  CHECK(exec.value(y).to_f64() == std::vector<double>{3, 6});
  weights.data<float>()[0] = 10;
  exec.run();
  CHECK(exec.value(y).to_f64() == std::vector<double>{30, 6});
}

TEST_CASE("autograd accumulates gradients over multiple uses") {
  Graph g;
  Var x = g.parameter("x", {3});
  Var loss = sum_all(x * x * x + x);  // d/dx = 3x^2 + 1
  Gradients grads = backward(loss);
  Executor exec(g, cpu_backend(), {grads["x"]});
  exec.bind("x", Tensor::from_vector<float>({3}, {1, -2, 0.5f}));
  exec.run();
  std::vector<double> dx = exec.value(grads["x"]).to_f64();
  CHECK(dx[0] == Approx(4));
  CHECK(dx[1] == Approx(13));
  CHECK(dx[2] == Approx(1.75));
  REQUIRE_THROWS_WITH(grads["y"], Catch::Contains("y"));
}

TEST_CASE("autograd leaves constants and inputs alone and refuses non-scalar losses") {
  Graph g;
  Var x = g.input("x", {3});
  Var w = g.parameter("w", {3});
  Var c = g.constant(Tensor::from_vector<float>({3}, {1, 2, 3}));
  Var y = x * w + c;
  REQUIRE_THROWS_WITH(backward(y), Catch::Contains("scalar"));
  Gradients grads = backward(sum_all(y));
  CHECK(grads.by_name.size() == 1);
  CHECK(grads.by_name.count("w") == 1);
}

TEST_CASE("inference graphs record no backward") {
  Graph g(/*grad_enabled=*/false);
  Var w = g.parameter("w", {3});
  Var loss = sum_all(w * w);
  CHECK_FALSE(loss.node().requires_grad);
  REQUIRE_THROWS_WITH(backward(loss), Catch::Contains("inference"));
}

TEST_CASE("executor aliases views instead of copying") {
  Graph g;
  Var x = g.input("x", {2, 6});
  Var y = exp(x);
  Var v = view(y, {3, 4});
  Var z = mul_scalar(v, 1.0);
  Executor exec(g, cpu_backend(), {z});
  size_t planned = exec.placements().size();
  CHECK(planned == 2);  // exp and mul_scalar; the view has no buffer of its own
  exec.bind("x", Tensor::zeros({2, 6}));
  exec.run();
  CHECK(exec.value(z).shape() == Shape{3, 4});
  CHECK(exec.value(z).to_f64() == std::vector<double>(12, 1.0));
}

TEST_CASE("executor runs layout ops on integer ids and byte masks") {
  Graph g;
  Var ids = g.input("ids", {2, 4}, DType::i32);
  Var mask = g.input("mask", {2, 2}, DType::u8);
  Var shifted = slice(ids, 1, 1, 4);                  // (2, 3): next-token labels
  Var joined = concat({mask, mask}, 1);               // (2, 4)
  Var flipped = transpose(joined, 0, 1);              // (4, 2)
  Executor exec(g, cpu_backend(), {shifted, flipped});
  exec.bind("ids", Tensor::from_vector<int32_t>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
  exec.bind("mask", Tensor::from_vector<uint8_t>({2, 2}, {1, 0, 0, 1}));
  exec.run();
  CHECK(exec.value(shifted).dtype() == DType::i32);
  CHECK(exec.value(shifted).to_f64() == std::vector<double>{2, 3, 4, 6, 7, 8});
  CHECK(exec.value(flipped).to_f64() == std::vector<double>{1, 0, 0, 1, 1, 0, 0, 1});
}

TEST_CASE("executor refuses f32-only ops on other dtypes with a clear error") {
  Graph g;
  Var x = g.input("x", {3});
  Var y = cast(exp(x), DType::bf16);
  Var z = mul_scalar(y, 2.0);  // bf16 compute has no CPU kernel
  REQUIRE_THROWS_WITH(Executor(g, cpu_backend(), {z}), Catch::Contains("mul_scalar") && Catch::Contains("bf16"));
}
