// Cross-backend cases for the softmax family, cross-entropy against a PyTorch fixture, and errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <random>

#include "kernels/cpu/softmax.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

// Applies fn(in_row, out_row, cols) to every row over the last axis.
template <typename Fn>
RefTensor ref_rows(const RefTensor& x, Fn fn) {
  RefTensor out(x.shape);
  const int64_t cols = x.shape.back();
  for (int64_t r = 0; r * cols < x.numel(); ++r)
    fn(&x.data[static_cast<size_t>(r * cols)], &out.data[static_cast<size_t>(r * cols)], cols);
  return out;
}

double ref_logsumexp(const double* x, int64_t n) {
  double m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
  return m + std::log(s);
}

RefTensor ref_softmax(const RefTensor& x) {
  return ref_rows(x, [](const double* in, double* out, int64_t n) {
    const double lse = ref_logsumexp(in, n);
    for (int64_t j = 0; j < n; ++j) out[j] = std::exp(in[j] - lse);
  });
}

RefTensor ref_log_softmax(const RefTensor& x) {
  return ref_rows(x, [](const double* in, double* out, int64_t n) {
    const double lse = ref_logsumexp(in, n);
    for (int64_t j = 0; j < n; ++j) out[j] = in[j] - lse;
  });
}

RefTensor ref_scaled(const RefTensor& x, double s) {
  RefTensor out = x;
  for (double& v : out.data) v *= s;
  return out;
}

// PyTorch's mean cross-entropy with label smoothing; 0 when every row is ignored.
RefTensor ref_cross_entropy(const RefTensor& logits, const RefTensor& labels, int64_t ignore_index, double eps) {
  const int64_t n = logits.shape[0], v = logits.shape[1];
  double total = 0.0;
  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t label = static_cast<int64_t>(labels[r]);
    if (label == ignore_index) continue;
    const double* row = &logits.data[static_cast<size_t>(r * v)];
    const double lse = ref_logsumexp(row, v);
    double smooth = 0.0;
    for (int64_t j = 0; j < v; ++j) smooth += lse - row[j];
    total += (1.0 - eps) * (lse - row[label]) + eps * smooth / static_cast<double>(v);
    ++count;
  }
  RefTensor out(Shape{});
  out[0] = count == 0 ? 0.0 : total / static_cast<double>(count);
  return out;
}

// Runs `out` on the CPU backend with the given bindings and returns a copy of its value.
Tensor run_cpu(Graph& g, Var out, const std::vector<std::pair<std::string, Tensor>>& binds) {
  Executor exec(g, cpu_backend(), {out}, ExecutorOptions{.poison = true});
  for (const auto& [name, value] : binds) exec.bind(name, value);
  exec.run();
  return exec.value(out).clone();
}

std::vector<float> random_floats(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<float> out(n);
  for (float& v : out) v = static_cast<float>(normal(rng));
  return out;
}

}  // namespace

TEST_CASE("ops/softmax softmax and log_softmax over the last axis") {
  const Shape shapes[] = {{1}, {3}, {3, 17}, {2, 3, 130}, {17, 1}};
  for (const Shape& s : shapes) {
    check_op({"softmax", {{"x", s}}, [](auto& v) { return softmax(v[0]); },
              [](const auto& r) { return ref_softmax(r[0]); }});
    check_op({"log_softmax", {{"x", s}}, [](auto& v) { return log_softmax(v[0]); },
              [](const auto& r) { return ref_log_softmax(r[0]); }});
  }
}

TEST_CASE("ops/softmax large logits are max-subtracted") {
  // x * 128 is exact in f32, so the reference sees the same logits (up to about +-500).
  check_op({"softmax(128 x)", {{"x", {5, 17}}}, [](auto& v) { return softmax(mul_scalar(v[0], 128.0)); },
            [](const auto& r) { return ref_softmax(ref_scaled(r[0], 128.0)); }, 1e-5, 2e-3, true, 1e-6});
  check_op({"log_softmax(128 x)", {{"x", {5, 17}}}, [](auto& v) { return log_softmax(mul_scalar(v[0], 128.0)); },
            [](const auto& r) { return ref_log_softmax(ref_scaled(r[0], 128.0)); }, 1e-5, 2e-3, true, 1e-6});
}

TEST_CASE("ops/softmax rows spread over threads") {
  // 64 x 1000 = 64000 elements: above the kernels' threading threshold.
  check_op({"softmax threaded", {{"x", {64, 1000}}}, [](auto& v) { return softmax(v[0]); },
            [](const auto& r) { return ref_softmax(r[0]); }, 1e-5, 2e-3, false});
  check_op({"log_softmax threaded", {{"x", {64, 1000}}}, [](auto& v) { return log_softmax(v[0]); },
            [](const auto& r) { return ref_log_softmax(r[0]); }, 1e-5, 2e-3, false});
}

TEST_CASE("ops/softmax backward helpers directly") {
  const Shape shapes[] = {{3, 17}, {2, 130}, {64, 1000}};
  for (const Shape& s : shapes) {
    check_op({"softmax_backward", {{"y", s}, {"dy", s}}, [](auto& v) { return softmax_backward(v[0], v[1]); },
              [](const auto& r) {
                RefTensor out(r[0].shape);
                const int64_t n = r[0].shape.back();
                for (int64_t row = 0; row * n < out.numel(); ++row) {
                  double dot = 0.0;
                  for (int64_t j = 0; j < n; ++j) dot += r[0][row * n + j] * r[1][row * n + j];
                  for (int64_t j = 0; j < n; ++j) out[row * n + j] = r[0][row * n + j] * (r[1][row * n + j] - dot);
                }
                return out;
              },
              2e-5, 2e-3, false});
    check_op({"log_softmax_backward", {{"y", s}, {"dy", s}}, [](auto& v) { return log_softmax_backward(v[0], v[1]); },
              [](const auto& r) {
                RefTensor out(r[0].shape);
                const int64_t n = r[0].shape.back();
                for (int64_t row = 0; row * n < out.numel(); ++row) {
                  double total = 0.0;
                  for (int64_t j = 0; j < n; ++j) total += r[1][row * n + j];
                  for (int64_t j = 0; j < n; ++j)
                    out[row * n + j] = r[1][row * n + j] - std::exp(r[0][row * n + j]) * total;
                }
                return out;
              },
              2e-5, 2e-3, false});
  }
}

TEST_CASE("ops/softmax masked -inf logits get exactly zero probability") {
  const float inf = std::numeric_limits<float>::infinity();
  Graph g;
  Var x = g.input("x", {2, 4});
  Var y = softmax(x);
  Var logp = log_softmax(x);
  Tensor xs = Tensor::from_vector<float>({2, 4}, {1.0f, -inf, 2.0f, -inf, -inf, -inf, -inf, 3.0f});
  std::vector<double> p = run_cpu(g, y, {{"x", xs}}).to_f64();
  CHECK(p[1] == 0.0);
  CHECK(p[3] == 0.0);
  CHECK(p[0] == Approx(1.0 / (1.0 + std::exp(1.0))).epsilon(1e-6));
  CHECK(p[2] == Approx(std::exp(1.0) / (1.0 + std::exp(1.0))).epsilon(1e-6));
  CHECK(p[4] == 0.0);
  CHECK(p[7] == 1.0);
  std::vector<double> lp = run_cpu(g, logp, {{"x", xs}}).to_f64();
  CHECK(lp[1] == -INFINITY);
  CHECK(lp[7] == 0.0);
}

TEST_CASE("ops/softmax cross_entropy with ignore_index and label smoothing") {
  struct Config {
    Shape logits;
    int64_t low, high, ignore_index;
    double eps;
  };
  // labels uniform in [low, high): with low = ignore_index = -1 some rows are ignored
  const Config configs[] = {
      {{1, 3}, 0, 3, -100, 0.0}, {{17, 13}, -1, 13, -1, 0.1}, {{5, 130}, 0, 130, 7, 0.3},
      {{3, 1}, 0, 1, -100, 0.2}, {{4, 6}, 0, 6, -100, 1.0},   {{130, 3}, -1, 3, -1, 0.0},
  };
  for (const Config& c : configs) {
    INFO("logits " << shape_str(c.logits) << ", ignore_index " << c.ignore_index << ", eps " << c.eps);
    const int64_t ignore = c.ignore_index;
    const double eps = c.eps;
    check_op({"cross_entropy", {{"logits", c.logits}, {"labels", {c.logits[0]}, Fill::integer, false, c.low, c.high}},
              [=](auto& v) { return cross_entropy(v[0], v[1], ignore, eps); },
              [=](const auto& r) { return ref_cross_entropy(r[0], r[1], ignore, eps); }});
  }
}

TEST_CASE("ops/softmax cross_entropy matches PyTorch") {
  std::ifstream file(std::string(HANVIT_TEST_DATA) + "/ops/cross_entropy.json");
  REQUIRE(file.good());
  const nlohmann::json fixture = nlohmann::json::parse(file);
  REQUIRE(fixture["cases"].size() >= 4);
  for (const auto& c : fixture["cases"]) {
    INFO("fixture case " << c["name"].get<std::string>());
    const int64_t n = c["n"], v = c["v"];
    Graph g;
    Var logits = g.parameter("logits", {n, v});
    Var labels = g.input("labels", {n}, DType::i32);
    Var loss = cross_entropy(logits, labels, c["ignore_index"].get<int64_t>(), c["label_smoothing"].get<double>());
    Gradients grads = backward(loss);
    Executor exec(g, cpu_backend(), {loss, grads["logits"]}, ExecutorOptions{.poison = true});
    exec.bind("logits", Tensor::from_vector<float>({n, v}, c["logits"].get<std::vector<float>>()));
    exec.bind("labels", Tensor::from_vector<int32_t>({n}, c["labels"].get<std::vector<int32_t>>()));
    exec.run();
    const double expected_loss = c["loss"];
    CHECK(exec.value(loss).item() == Approx(expected_loss).epsilon(1e-6));
    const std::vector<double> grad = exec.value(grads["logits"]).to_f64();
    const std::vector<double> expected = c["grad"].get<std::vector<double>>();
    REQUIRE(grad.size() == expected.size());
    for (size_t i = 0; i < grad.size(); ++i) CHECK(grad[i] == Approx(expected[i]).margin(1e-6));
  }
}

TEST_CASE("ops/softmax cross_entropy with every row ignored is 0 with zero gradient") {
  Graph g;
  Var logits = g.parameter("logits", {3, 5});
  Var labels = g.input("labels", {3}, DType::i32);
  Var loss = cross_entropy(logits, labels, -100, 0.1);
  Gradients grads = backward(loss);
  Executor exec(g, cpu_backend(), {loss, grads["logits"]}, ExecutorOptions{.poison = true});
  exec.bind("logits", Tensor::from_vector<float>({3, 5}, random_floats(15, 3)));
  exec.bind("labels", Tensor::from_vector<int32_t>({3}, {-100, -100, -100}));
  exec.run();
  CHECK(exec.value(loss).item() == 0.0);
  for (double d : exec.value(grads["logits"]).to_f64()) CHECK(d == 0.0);
}

TEST_CASE("ops/softmax cross_entropy rejects labels outside 0..V-1 that are not ignore_index") {
  Graph g;
  Var logits = g.parameter("logits", {4, 5});
  Var labels = g.input("labels", {4}, DType::i32);
  Var loss = cross_entropy(logits, labels);
  const Tensor xs = Tensor::from_vector<float>({4, 5}, random_floats(20, 4));
  REQUIRE_THROWS_WITH(run_cpu(g, loss, {{"logits", xs}, {"labels", Tensor::from_vector<int32_t>({4}, {0, 4, 5, 1})}}),
                      Catch::Contains("cross_entropy") && Catch::Contains("label 5 of row 2"));
  REQUIRE_THROWS_WITH(run_cpu(g, loss, {{"logits", xs}, {"labels", Tensor::from_vector<int32_t>({4}, {-1, 0, 0, 0})}}),
                      Catch::Contains("label -1 of row 0"));
  Var dlogits = backward(loss)["logits"];
  REQUIRE_THROWS_WITH(
      run_cpu(g, dlogits, {{"logits", xs}, {"labels", Tensor::from_vector<int32_t>({4}, {0, 1, 2, 9})}}),
      Catch::Contains("cross_entropy_backward") && Catch::Contains("label 9 of row 3"));
}

TEST_CASE("ops/softmax kernels give the same bits on any thread count") {
  const int64_t rows = 96, cols = 1000;
  const std::vector<float> x = random_floats(static_cast<size_t>(rows * cols), 5, 3.0);
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    labels[static_cast<size_t>(r)] = r % 7 == 0 ? -100 : static_cast<int32_t>(r * 13 % cols);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> y(x.size()), dx(x.size());
    cpu::softmax_f32(x.data(), y.data(), rows, cols);
    float loss = cpu::cross_entropy_f32(x.data(), labels.data(), rows, cols, -100, 0.1);
    cpu::cross_entropy_backward_f32(x.data(), labels.data(), rows, cols, -100, 0.1, 1.5f, dx.data());
    omp_set_num_threads(saved);
    y.push_back(loss);
    y.insert(y.end(), dx.begin(), dx.end());
    return y;
  };
  const std::vector<float> one = run(1);
  CHECK(run(2) == one);
  CHECK(run(3) == one);
}

TEST_CASE("ops/softmax builder errors name the op and shapes") {
  Graph g;
  Var x = g.parameter("x", {2, 3});
  Var s = g.parameter("s", {});
  Var ids = g.input("ids", {2, 3}, DType::i32);
  Var labels = g.input("labels", {2}, DType::i32);
  Var logits3 = g.parameter("logits3", {2, 3, 4});
  Var flabels = g.parameter("flabels", {2});
  Var labels5 = g.input("labels5", {5}, DType::i32);
  Var empty = g.parameter("empty", {2, 0});
  Var half = g.parameter("half", {2, 3}, DType::bf16);
  REQUIRE_THROWS_WITH(softmax(ids), Catch::Contains("softmax") && Catch::Contains("i32(2,3)"));
  REQUIRE_THROWS_WITH(log_softmax(s), Catch::Contains("log_softmax") && Catch::Contains("at least one axis"));
  REQUIRE_THROWS_WITH(softmax_backward(x, g.parameter("dy", {3, 2})),
                      Catch::Contains("softmax_backward") && Catch::Contains("(2,3)") && Catch::Contains("(3,2)"));
  REQUIRE_THROWS_WITH(log_softmax_backward(x, half),
                      Catch::Contains("log_softmax_backward") && Catch::Contains("bf16"));
  REQUIRE_THROWS_WITH(cross_entropy(logits3, labels), Catch::Contains("cross_entropy") && Catch::Contains("rank 2") &&
                                                          Catch::Contains("(2,3,4)"));
  REQUIRE_THROWS_WITH(cross_entropy(labels, labels), Catch::Contains("cross_entropy: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(cross_entropy(x, flabels), Catch::Contains("labels must be i32"));
  REQUIRE_THROWS_WITH(cross_entropy(x, labels5), Catch::Contains("cross_entropy") && Catch::Contains("(2,3)") &&
                                                     Catch::Contains("(5)"));
  REQUIRE_THROWS_WITH(cross_entropy(empty, labels), Catch::Contains("at least one class"));
  REQUIRE_THROWS_WITH(cross_entropy(x, labels, -100, 1.5), Catch::Contains("label_smoothing"));
  REQUIRE_THROWS_WITH(cross_entropy(x, labels, -100, -0.1), Catch::Contains("label_smoothing"));
  REQUIRE_THROWS_WITH(cross_entropy_backward(x, labels, g.parameter("d1", {1}), CrossEntropyAttrs{}),
                      Catch::Contains("cross_entropy_backward") && Catch::Contains("dloss must have rank 0"));
  REQUIRE_THROWS_WITH(cross_entropy_backward(x, labels, g.input("di", {}, DType::i32), CrossEntropyAttrs{}),
                      Catch::Contains("cross_entropy_backward") && Catch::Contains("dloss must be f32"));
  CHECK(cross_entropy(x, labels).shape() == Shape{});
  CHECK(cross_entropy_backward(x, labels, s, CrossEntropyAttrs{}).shape() == Shape{2, 3});
}
