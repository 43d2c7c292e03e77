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

DType dtype_of_spec(const InputSpec& spec, DType float_dtype) {
  if (spec.fill == Fill::integer) return DType::i32;
  if (spec.fill == Fill::mask) return DType::u8;
  return float_dtype;
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

Built build_case(Graph& g, const OpCase& c, DType float_dtype) {
  Built built;
  for (const InputSpec& spec : c.inputs)
    built.vars.push_back(is_float_input(spec) ? g.parameter(spec.name, spec.shape, float_dtype)
                                              : g.input(spec.name, spec.shape, dtype_of_spec(spec, float_dtype)));
  built.out = c.build(built.vars);
  return built;
}

double weighted_sum(const RefTensor& out, const RefTensor& weights) {
  double total = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) total += out[i] * weights[i];
  return total;
}

// The reference inputs as a float dtype stores them (float inputs rounded, others unchanged).
std::vector<RefTensor> rounded_inputs(const OpCase& c, const std::vector<RefTensor>& refs, DType float_dtype) {
  std::vector<RefTensor> rounded = refs;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (is_float_input(c.inputs[i])) rounded[i].data = to_tensor(refs[i], float_dtype).to_f64();
  return rounded;
}

void bind_inputs(Executor& exec, const OpCase& c, const std::vector<RefTensor>& refs, DType float_dtype) {
  for (size_t i = 0; i < c.inputs.size(); ++i)
    exec.bind(c.inputs[i].name, to_tensor(refs[i], dtype_of_spec(c.inputs[i], float_dtype)));
}

// Forward against the reference, twice: a re-run with the same data gives the same bits.
void check_forward(const OpCase& c, Backend& backend, DType float_dtype, const std::vector<RefTensor>& refs,
                   const RefTensor& expected, double tolerance) {
  Graph g;
  Built built = build_case(g, c, float_dtype);
  REQUIRE(built.out.shape() == expected.shape);
  Executor exec(g, backend, {built.out}, ExecutorOptions{.poison = true});
  bind_inputs(exec, c, refs, float_dtype);
  exec.run();
  std::vector<double> first = to_host(exec.value(built.out)).to(DType::f32).to_f64();
  exec.run();
  std::vector<double> second = to_host(exec.value(built.out)).to(DType::f32).to_f64();
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
  CHECK(worst <= tolerance);
  CHECK(std::equal(first.begin(), first.end(), second.begin(),
                   [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }));
}

// d(sum(reference(inputs) * weights)) / d(input i) by central differences, per checked input.
std::vector<std::vector<double>> numeric_gradients(const OpCase& c, const std::vector<RefTensor>& refs,
                                                   const RefTensor& weights, const std::vector<size_t>& checked) {
  std::vector<std::vector<double>> grads;
  std::vector<RefTensor> probe = refs;
  for (size_t i : checked) {
    std::vector<double> g(static_cast<size_t>(refs[i].numel()));
    for (int64_t e = 0; e < refs[i].numel(); ++e) {
      const double h = c.fd_step * std::max(1.0, std::abs(refs[i][e]));
      probe[i][e] = refs[i][e] + h;
      double up = weighted_sum(c.reference(probe), weights);
      probe[i][e] = refs[i][e] - h;
      double down = weighted_sum(c.reference(probe), weights);
      probe[i][e] = refs[i][e];
      g[static_cast<size_t>(e)] = (up - down) / (2.0 * h);
    }
    grads.push_back(std::move(g));
  }
  return grads;
}

void check_gradients(const OpCase& c, Backend& backend, DType float_dtype, const std::vector<RefTensor>& refs,
                     const RefTensor& weights, const std::vector<size_t>& checked,
                     const std::vector<std::vector<double>>& numeric, double tolerance) {
  Graph g;
  Built built = build_case(g, c, float_dtype);
  Var w = g.input("__grad_weights", weights.shape, built.out.dtype());
  Var loss = sum_all(mul(built.out, w));
  Gradients grads = backward(loss);
  std::vector<Var> outputs;
  for (size_t i : checked) outputs.push_back(grads[c.inputs[i].name]);
  Executor exec(g, backend, outputs, ExecutorOptions{.poison = true});
  bind_inputs(exec, c, refs, float_dtype);
  exec.bind("__grad_weights", to_tensor(weights, built.out.dtype()));
  exec.run();
  for (size_t k = 0; k < checked.size(); ++k) {
    INFO("gradient of input '" << c.inputs[checked[k]].name << "'");
    std::vector<double> ours = to_host(exec.value(outputs[k])).to(DType::f32).to_f64();
    double worst = 0.0, largest = 0.0;
    for (size_t e = 0; e < ours.size(); ++e) {
      largest = std::max(largest, std::abs(numeric[k][e]));
      double err = std::abs(ours[e] - numeric[k][e]);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
    }
    INFO("worst gradient error " << worst << ", largest reference gradient " << largest);
    CHECK(worst <= tolerance * std::max(largest, 1.0));
  }
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

  std::vector<size_t> checked;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.check_gradient && is_float_input(c.inputs[i]) && c.inputs[i].differentiable) checked.push_back(i);
  std::vector<std::vector<double>> numeric;
  if (!checked.empty()) numeric = numeric_gradients(c, refs, weights, checked);

  for (Backend* backend : available_backends()) {
    INFO("backend: " << backend->name() << ", f32");
    check_forward(c, *backend, DType::f32, refs, expected, c.tolerance);
    if (!checked.empty()) check_gradients(c, *backend, DType::f32, refs, weights, checked, numeric, c.grad_tolerance);
  }
  if (!c.bf16) return;
  {
    // Every build can record the bf16 graphs (forward and backward), with or without a device.
    Graph g;
    Built built = build_case(g, c, DType::bf16);
    if (!checked.empty()) backward(sum_all(mul(built.out, g.input("__grad_weights", expected.shape, built.out.dtype()))));
  }
  // bf16: inputs rounded to bf16, the reference recomputed over them; gradients compared with
  // the f32 point's numeric gradients (the rounding moves them far less than the tolerance).
  const std::vector<RefTensor> rounded = rounded_inputs(c, refs, DType::bf16);
  const RefTensor expected_bf16 = c.reference(rounded);
  for (Backend* backend : available_backends()) {
    if (backend->device().kind == DeviceKind::cpu) continue;
    INFO("backend: " << backend->name() << ", bf16");
    check_forward(c, *backend, DType::bf16, rounded, expected_bf16, c.bf16_tolerance);
    if (!checked.empty())
      check_gradients(c, *backend, DType::bf16, rounded, weights, checked, numeric, c.bf16_grad_tolerance);
  }
}

}  // namespace hanvit::test
