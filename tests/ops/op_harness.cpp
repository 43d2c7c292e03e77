// Cross-backend op harness: random inputs, float64 reference, poisoned arenas, and a
// finite-difference gradient check through the reference.
#include "tests/ops/op_harness.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"

namespace hanvit::test {
namespace {

bool is_float_input(const InputSpec& spec) { return spec.fill == Fill::normal || spec.fill == Fill::positive; }

DType dtype_of_spec(const InputSpec& spec) {
  if (spec.fill == Fill::integer) return DType::i32;
  if (spec.fill == Fill::mask) return DType::u8;
  return DType::f32;
}

RefTensor random_ref(const InputSpec& spec, std::mt19937_64& rng) {
  RefTensor t(spec.shape);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> positive(0.5, 2.0);
  std::uniform_int_distribution<int64_t> integer(spec.low, std::max(spec.low, spec.high - 1));
  std::bernoulli_distribution keep(0.7);
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (spec.fill) {
      case Fill::normal: t[i] = static_cast<float>(normal(rng)); break;
      case Fill::positive: t[i] = static_cast<float>(positive(rng)); break;
      case Fill::integer: t[i] = static_cast<double>(integer(rng)); break;
      case Fill::mask: t[i] = keep(rng) ? 1.0 : 0.0; break;
    }
  }
  if (spec.fill == Fill::mask && !spec.shape.empty() && spec.shape.back() > 0) {
    int64_t cols = spec.shape.back();
    for (int64_t row = 0; row < t.numel() / cols; ++row) {
      bool any = false;
      for (int64_t j = 0; j < cols; ++j) any = any || t[row * cols + j] != 0.0;
      if (!any) t[row * cols] = 1.0;
    }
  }
  return t;
}

Tensor to_tensor(const RefTensor& ref, DType dtype) { return Tensor::from_values(ref.shape, ref.data, dtype); }

struct Built {
  std::vector<Var> vars;
  Var out;
};

Built build_case(Graph& g, const OpCase& c) {
  Built built;
  for (const InputSpec& spec : c.inputs)
    built.vars.push_back(is_float_input(spec) ? g.parameter(spec.name, spec.shape)
                                              : g.input(spec.name, spec.shape, dtype_of_spec(spec)));
  built.out = c.build(built.vars);
  return built;
}

double weighted_sum(const RefTensor& out, const RefTensor& weights) {
  double total = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) total += out[i] * weights[i];
  return total;
}

}  // namespace

void check_op(const OpCase& c, uint64_t seed) {
  INFO("op case: " << c.name);
  std::mt19937_64 rng(seed);
  std::vector<RefTensor> refs;
  for (const InputSpec& spec : c.inputs) refs.push_back(random_ref(spec, rng));
  const RefTensor expected = c.reference(refs);

  RefTensor weights(expected.shape);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int64_t i = 0; i < weights.numel(); ++i) weights[i] = static_cast<float>(normal(rng));

  for (Backend* backend : available_backends()) {
    INFO("backend: " << backend->name());
    // Forward against the reference, twice: a re-run with the same data gives the same bits.
    {
      Graph g;
      Built built = build_case(g, c);
      REQUIRE(built.out.shape() == expected.shape);
      Executor exec(g, *backend, {built.out}, ExecutorOptions{.poison = true});
      for (size_t i = 0; i < c.inputs.size(); ++i) exec.bind(c.inputs[i].name, to_tensor(refs[i], dtype_of_spec(c.inputs[i])));
      exec.run();
      std::vector<double> first = exec.value(built.out).to(DType::f32).to_f64();
      exec.run();
      std::vector<double> second = exec.value(built.out).to(DType::f32).to_f64();
      REQUIRE(first.size() == expected.data.size());
      double worst = 0.0;
      int64_t worst_at = -1;
      for (size_t i = 0; i < first.size(); ++i) {
        double err = std::abs(first[i] - expected.data[i]) / (1.0 + std::abs(expected.data[i]));
        if (!(err <= worst)) {
          worst = std::isnan(err) ? INFINITY : err;
          worst_at = static_cast<int64_t>(i);
        }
      }
      INFO("worst forward error " << worst << " at element " << worst_at);
      CHECK(worst <= c.tolerance);
      CHECK(std::equal(first.begin(), first.end(), second.begin(),
                       [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }));
    }
    if (!c.check_gradient) continue;
    Graph g;
    Built built = build_case(g, c);
    Var w = g.input("__grad_weights", expected.shape);
    Var loss = sum_all(mul(built.out, w));
    Gradients grads = backward(loss);
    std::vector<Var> outputs;
    std::vector<size_t> checked;
    for (size_t i = 0; i < c.inputs.size(); ++i)
      if (is_float_input(c.inputs[i]) && c.inputs[i].differentiable) {
        outputs.push_back(grads[c.inputs[i].name]);
        checked.push_back(i);
      }
    if (outputs.empty()) continue;
    Executor exec(g, *backend, outputs, ExecutorOptions{.poison = true});
    for (size_t i = 0; i < c.inputs.size(); ++i) exec.bind(c.inputs[i].name, to_tensor(refs[i], dtype_of_spec(c.inputs[i])));
    exec.bind("__grad_weights", to_tensor(weights, DType::f32));
    exec.run();
    for (size_t k = 0; k < checked.size(); ++k) {
      size_t i = checked[k];
      INFO("gradient of input '" << c.inputs[i].name << "'");
      std::vector<double> ours = exec.value(outputs[k]).to(DType::f32).to_f64();
      std::vector<RefTensor> probe = refs;
      double worst = 0.0, largest = 0.0;
      for (int64_t e = 0; e < refs[i].numel(); ++e) {
        const double h = c.fd_step * std::max(1.0, std::abs(refs[i][e]));
        probe[i][e] = refs[i][e] + h;
        double up = weighted_sum(c.reference(probe), weights);
        probe[i][e] = refs[i][e] - h;
        double down = weighted_sum(c.reference(probe), weights);
        probe[i][e] = refs[i][e];
        double numeric = (up - down) / (2.0 * h);
        largest = std::max(largest, std::abs(numeric));
        double err = std::abs(ours[static_cast<size_t>(e)] - numeric);
        worst = std::isnan(err) ? INFINITY : std::max(worst, err);
      }
      INFO("worst gradient error " << worst << ", largest reference gradient " << largest);
      CHECK(worst <= c.grad_tolerance * std::max(largest, 1.0));
    }
  }
}

}  // namespace hanvit::test
