// Optimizers, clipping and lr schedules: float64 reference loops, PyTorch/transformers fixtures,
// no-decay grouping, non-finite grads, bit-exact resume and state/argument errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "kernels/cpu/optim.h"
#include "modules/optim/lr_schedule.h"
#include "modules/optim/optimizer.h"

using namespace hanvit;
using nlohmann::json;

namespace {

json load_fixture(const std::string& name) {
  std::ifstream file(std::string(HANVIT_TEST_DATA) + "/optim/" + name);
  REQUIRE(file.good());
  return json::parse(file);
}

Tensor random_tensor(const Shape& shape, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(numel(shape)));
  for (float& v : values) v = normal(rng) * scale;
  return Tensor::from_vector<float>(shape, values);
}

ParamRef make_param(const std::string& name, const Shape& shape, uint32_t seed) {
  return {name, random_tensor(shape, seed), Tensor::zeros(shape)};
}

// Fills every grad with fresh values for `step` (seeded by step and position).
void fill_grads(const std::vector<ParamRef>& params, int step, float scale = 1.0f) {
  for (size_t i = 0; i < params.size(); ++i)
    params[i].grad.copy_from(random_tensor(params[i].grad.shape(), static_cast<uint32_t>(1000 * step + i + 7), scale));
}

// |a - b| <= rel * max(|b|, floor) everywhere: relative, with a floor for values that pass near
// zero (their error is set by the larger values they held on the way).
void require_close(const std::vector<double>& actual, const std::vector<double>& expected, double rel, double floor,
                   const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  size_t worst = 0;
  double worst_error = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(actual[i] - expected[i]) / std::max(std::abs(expected[i]), floor);
    if (!(error <= worst_error)) worst = i, worst_error = error;
  }
  INFO(what << " [" << worst << "]: " << actual[worst] << " vs " << expected[worst] << ", error " << worst_error);
  REQUIRE(worst_error <= rel);
}

double rms(const std::vector<double>& x) {
  double sum = 0.0;
  for (double v : x) sum += v * v;
  return std::sqrt(sum / static_cast<double>(x.size()));
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Float64 AdamW / SGD over one parameter, the textbook formulas of torch.optim.
struct ReferenceParam {
  std::vector<double> p, m, v;
};

void reference_adamw(ReferenceParam& r, const std::vector<double>& grad, double lr, double wd, double grad_scale,
                     int64_t step, const AdamWOptions& o) {
  if (r.m.empty()) r.m.assign(r.p.size(), 0.0), r.v.assign(r.p.size(), 0.0);
  const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(step));
  for (size_t i = 0; i < r.p.size(); ++i) {
    const double g = grad[i] * grad_scale;
    r.p[i] *= 1 - lr * wd;
    r.m[i] = o.beta1 * r.m[i] + (1 - o.beta1) * g;
    r.v[i] = o.beta2 * r.v[i] + (1 - o.beta2) * g * g;
    r.p[i] -= lr / bc1 * r.m[i] / (std::sqrt(r.v[i] / bc2) + o.eps);
  }
}

void reference_sgd(ReferenceParam& r, const std::vector<double>& grad, double lr, double wd, double grad_scale,
                   const SgdOptions& o) {
  const bool first = r.m.empty();
  if (first) r.m.assign(r.p.size(), 0.0);
  for (size_t i = 0; i < r.p.size(); ++i) {
    double d = grad[i] * grad_scale + wd * r.p[i];
    if (o.momentum > 0) {
      r.m[i] = first ? d : o.momentum * r.m[i] + d;
      d = o.nesterov ? d + o.momentum * r.m[i] : r.m[i];
    }
    r.p[i] -= lr * d;
  }
}

// Three parameters over two groups (one above the threading threshold), lr_scale 0.5 on the
// no-decay group.
std::vector<ParamGroup> reference_groups(double weight_decay) {
  std::vector<ParamGroup> groups =
      split_decay_groups({make_param("big.weight", {300, 301}, 1), make_param("small.weight", {7, 3}, 2),
                          make_param("small.bias", {3}, 3)},
                         weight_decay);
  groups[1].lr_scale = 0.5;
  return groups;
}

template <typename Opt, typename Reference>
void check_against_reference(Opt& opt, Reference reference) {
  const std::vector<ParamRef> params = opt.params();
  std::vector<ReferenceParam> refs;
  for (const ParamRef& p : params) refs.push_back({p.param.to_f64(), {}, {}});
  for (int step = 0; step < 10; ++step) {
    fill_grads(params, step);
    const double lr = 0.01 * (1 + step % 3);
    const double grad_scale = step % 2 == 0 ? 1.0 : 0.25;
    opt.step(lr, grad_scale);
    size_t k = 0;
    for (const ParamGroup& g : opt.groups())
      for (const ParamRef& p : g.params) {
        reference(refs[k], p.grad.to_f64(), lr * g.lr_scale, g.weight_decay, grad_scale, opt.step_count());
        ++k;
      }
  }
  // Float rounding errors scale with the magnitudes a value held on its way, so values that end
  // near zero are held to 1e-6 of their tensor's RMS. exp_avg_sq is positive: 1e-6 relative.
  const NamedTensors state = opt.state_tensors();
  const size_t slots = state.size() / params.size();
  for (size_t k = 0; k < params.size(); ++k) {
    require_close(params[k].param.to_f64(), refs[k].p, 1e-6, rms(refs[k].p), params[k].name);
    if (slots >= 1)
      require_close(state[k * slots].second.to_f64(), refs[k].m, 1e-6, rms(refs[k].m), state[k * slots].first);
    if (slots == 2)
      require_close(state[k * slots + 1].second.to_f64(), refs[k].v, 1e-6, 0.0, state[k * slots + 1].first);
  }
}

// A run recorded by scripts/make_optim_fixture.py: params, groups, per-step grads, lrs, norms and
// resulting params.
struct FixtureRun {
  json data;
  std::vector<ParamGroup> groups;
  LrSchedule schedule;
};

FixtureRun load_run(const std::string& file) {
  json data = load_fixture(file);
  std::vector<ParamRef> list;
  for (const json& p : data["params"]) {
    const Shape shape = p["shape"].get<Shape>();
    const std::vector<double> values = p["values"].get<std::vector<double>>();
    list.push_back({p["name"].get<std::string>(), Tensor::from_values(shape, values), Tensor::zeros(shape)});
  }
  std::vector<ParamGroup> groups = split_decay_groups(list, data["weight_decay"].get<double>());
  const json& s = data["schedule"];
  LrSchedule schedule({lr_schedule_kind_from_name(s["kind"].get<std::string>()), data["optimizer"]["lr"].get<double>(),
                       s["warmup_steps"].get<int64_t>(), s["total_steps"].get<int64_t>(),
                       s["min_ratio"].get<double>()});
  return {std::move(data), std::move(groups), schedule};
}

void run_fixture(FixtureRun& run, Optimizer& opt) {
  const std::vector<ParamRef> params = opt.params();
  const double max_norm = run.data["max_norm"].get<double>();
  for (size_t step = 0; step < run.data["steps"].size(); ++step) {
    const json& expected = run.data["steps"][step];
    for (const ParamRef& p : params)
      p.grad.copy_from(Tensor::from_values(p.grad.shape(), expected["grads"][p.name].get<std::vector<double>>()));
    const double norm = clip_grad_norm(params, max_norm);
    CHECK(norm == Approx(expected["total_norm"].get<double>()).epsilon(1e-6));
    const double lr = run.schedule.lr(static_cast<int64_t>(step));
    CHECK(lr == Approx(expected["lr"].get<double>()).epsilon(1e-12).margin(1e-15));
    opt.step(lr);
    for (const ParamRef& p : params)
      require_close(p.param.to_f64(), expected["params"][p.name].get<std::vector<double>>(), 1e-6, 0.1,
                    p.name + " after step " + std::to_string(step));
  }
}

void check_fixture_groups(const FixtureRun& run) {
  for (size_t g = 0; g < 2; ++g) {
    std::vector<std::string> names;
    for (const ParamRef& p : run.groups[g].params) names.push_back(p.name);
    CHECK(names == run.data["groups"][g].get<std::vector<std::string>>());
  }
}

// Trains `make()`'s optimizer for 10 steps straight, and again with a save after 4 steps and a
// resume into a fresh optimizer over fresh tensors; the final params must be bit-identical.
template <typename Make>
void check_resume(Make make) {
  const LrSchedule schedule({LrScheduleKind::cosine, 0.02, 3, 10, 0.1});
  auto train = [&](Optimizer& opt, int from, int to) {
    const std::vector<ParamRef> params = opt.params();
    for (int step = from; step < to; ++step) {
      fill_grads(params, step, step % 2 == 0 ? 1.0f : 0.001f);
      clip_grad_norm(params, 5.0);
      opt.step(schedule.lr(step));
    }
  };
  auto straight = make();
  train(*straight, 0, 10);

  auto first = make();
  train(*first, 0, 4);
  NamedTensors saved;
  for (const auto& [name, t] : first->state_tensors()) saved.emplace_back(name, t.clone());
  const std::string saved_json = first->state_json().dump();
  std::vector<Tensor> saved_params;
  for (const ParamRef& p : first->params()) saved_params.push_back(p.param.clone());
  train(*first, 4, 6);  // the first run goes on; the saved copies must not change

  auto resumed = make();
  const std::vector<ParamRef> params = resumed->params();
  for (size_t i = 0; i < params.size(); ++i) params[i].param.copy_from(saved_params[i]);
  resumed->load_state(saved, json::parse(saved_json));
  CHECK(resumed->step_count() == 4);
  train(*resumed, 4, 10);

  const std::vector<ParamRef> expected = straight->params();
  for (size_t i = 0; i < params.size(); ++i) {
    INFO(params[i].name);
    CHECK(bit_equal(params[i].param, expected[i].param));
  }
  const NamedTensors a = resumed->state_tensors(), b = straight->state_tensors();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(bit_equal(a[i].second, b[i].second));
  }
}

}  // namespace

TEST_CASE("optim kernels: sum of squares in double and scaling") {
  const int64_t n = 3 * 16384 + 1001;  // several chunks and a partial one, threaded
  Tensor x = random_tensor({n}, 11);
  const float* data = x.data<float>();
  double expected = 0.0;
  for (int64_t i = 0; i < n; ++i) expected += static_cast<double>(data[i]) * data[i];
  CHECK(cpu::sum_squares_f32(data, n) == Approx(expected).epsilon(1e-12));
  CHECK(cpu::sum_squares_f32(data, 0) == 0.0);
  const float big = 1e30f;  // its square overflows f32 but not the double sum
  CHECK(cpu::sum_squares_f32(&big, 1) == Approx(1e60).epsilon(1e-6));

  const std::vector<double> before = x.to_f64();
  cpu::scale_f32(x.data<float>(), n, 0.5f);
  const std::vector<double> after = x.to_f64();
  for (int64_t i = 0; i < n; ++i) REQUIRE(after[static_cast<size_t>(i)] == before[static_cast<size_t>(i)] * 0.5);
}

TEST_CASE("optim kernels give the same bits on any thread count") {
  const int64_t n = 200003;  // above the threading threshold, with a scalar tail
  const Tensor grad = random_tensor({n}, 21);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    Tensor p = random_tensor({n}, 22), m = Tensor::zeros({n}), v = Tensor::zeros({n});
    Tensor q = p.clone(), buf = Tensor::zeros({n});
    for (int step = 1; step <= 3; ++step) {
      cpu::adamw_step_f32(p.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(), n, 1e-3, 0.9, 0.999,
                          1e-8, 0.01, 1 - std::pow(0.9, step), 1 - std::pow(0.999, step), 0.5);
      cpu::sgd_momentum_step_f32(q.data<float>(), grad.data<float>(), buf.data<float>(), n, 1e-2, 0.9, true, 1e-4, 2.0);
    }
    const double sum = cpu::sum_squares_f32(p.data<float>(), n);
    omp_set_num_threads(saved);
    std::vector<double> out = p.to_f64();
    for (const Tensor& t : {m, v, q, buf}) {
      const std::vector<double> values = t.to_f64();
      out.insert(out.end(), values.begin(), values.end());
    }
    out.push_back(sum);
    return out;
  };
  const std::vector<double> one = run(1);
  CHECK(run(2) == one);
  CHECK(run(3) == one);
}

TEST_CASE("optim AdamW matches a float64 reference over 10 steps") {
  const AdamWOptions options{0.85, 0.99, 1e-6};
  AdamW opt(reference_groups(0.1), options);
  CHECK(opt.groups()[0].params.size() == 2);
  check_against_reference(opt, [&](ReferenceParam& r, const std::vector<double>& g, double lr, double wd, double scale,
                                   int64_t step) { reference_adamw(r, g, lr, wd, scale, step, options); });
}

TEST_CASE("optim SGD matches a float64 reference over 10 steps") {
  for (const SgdOptions options : {SgdOptions{0.9, false}, SgdOptions{0.9, true}, SgdOptions{0.0, false}}) {
    INFO("momentum " << options.momentum << " nesterov " << options.nesterov);
    Sgd opt(reference_groups(0.05), options);
    check_against_reference(opt, [&](ReferenceParam& r, const std::vector<double>& g, double lr, double wd,
                                     double scale, int64_t) { reference_sgd(r, g, lr, wd, scale, options); });
  }
}

TEST_CASE("optim AdamW matches torch.optim.AdamW with clipping and a cosine schedule") {
  FixtureRun run = load_run("adamw.json");
  check_fixture_groups(run);
  const json& o = run.data["optimizer"];
  AdamW opt(run.groups, {o["beta1"].get<double>(), o["beta2"].get<double>(), o["eps"].get<double>()});
  run_fixture(run, opt);
}

TEST_CASE("optim SGD matches torch.optim.SGD with momentum, with and without nesterov") {
  for (const char* file : {"sgd.json", "sgd_nesterov.json"}) {
    INFO(file);
    FixtureRun run = load_run(file);
    check_fixture_groups(run);
    const json& o = run.data["optimizer"];
    Sgd opt(run.groups, {o["momentum"].get<double>(), o["nesterov"].get<bool>()});
    run_fixture(run, opt);
  }
}

TEST_CASE("optim schedules match transformers' lr lambdas") {
  const json data = load_fixture("schedules.json");
  for (const json& s : data["schedules"]) {
    const LrSchedule schedule({lr_schedule_kind_from_name(s["kind"].get<std::string>()), 2.0,
                               s["warmup_steps"].get<int64_t>(), s["total_steps"].get<int64_t>(),
                               s["min_ratio"].get<double>()});
    const std::vector<double> factors = s["factors"].get<std::vector<double>>();
    for (size_t step = 0; step < factors.size(); ++step) {
      INFO(s.dump() << " step " << step);
      CHECK(schedule.factor(static_cast<int64_t>(step)) == Approx(factors[step]).epsilon(1e-12).margin(1e-15));
      CHECK(schedule.lr(static_cast<int64_t>(step)) == Approx(2.0 * factors[step]).epsilon(1e-12).margin(1e-15));
    }
  }
}

TEST_CASE("optim schedules: key steps, the hold past the end, and errors") {
  const LrSchedule cosine({LrScheduleKind::cosine, 1.0, 4, 12, 0.1});
  CHECK(cosine.factor(0) == 0.0);
  CHECK(cosine.factor(1) == 0.25);
  CHECK(cosine.factor(4) == 1.0);
  CHECK(cosine.factor(8) == Approx(0.55));  // half way: 0.5 * (1 - 0.1) + 0.1
  CHECK(cosine.factor(12) == Approx(0.1));
  CHECK(cosine.factor(13) == cosine.factor(12));
  CHECK(cosine.factor(1000) == cosine.factor(12));
  const LrSchedule linear({LrScheduleKind::linear, 1.0, 0, 10, 0.0});
  CHECK(linear.factor(0) == 1.0);
  CHECK(linear.factor(5) == 0.5);
  CHECK(linear.factor(10) == 0.0);
  CHECK(linear.factor(11) == 0.0);
  const LrSchedule constant({LrScheduleKind::constant, 3e-4, 2, 0, 0.0});
  CHECK(constant.lr(1) == Approx(1.5e-4));
  CHECK(constant.lr(50) == 3e-4);

  CHECK(lr_schedule_kind_from_name("linear") == LrScheduleKind::linear);
  CHECK_THROWS_WITH(lr_schedule_kind_from_name("step"), Catch::Contains("'step'"));
  CHECK_THROWS_WITH(cosine.factor(-1), Catch::Contains("step -1"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::cosine, -1.0, 0, 10, 0.0}), Catch::Contains("base_lr"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::cosine, std::nan(""), 0, 10, 0.0}), Catch::Contains("base_lr"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::cosine, 1.0, -1, 10, 0.0}), Catch::Contains("warmup_steps"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::linear, 1.0, 5, 4, 0.0}), Catch::Contains("total_steps = 4"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::cosine, 1.0, 0, 4, 1.5}), Catch::Contains("min_ratio"));
  CHECK_THROWS_WITH(LrSchedule({LrScheduleKind::linear, 1.0, 0, 4, 0.1}), Catch::Contains("cosine"));
}

TEST_CASE("optim no-decay grouping: biases, norms, ln_ and 1-D tensors") {
  std::vector<ParamRef> params = {make_param("h.0.attn.c_attn.weight", {4, 4}, 1),
                                  make_param("h.0.attn.c_attn.bias", {4}, 2),
                                  make_param("h.0.ln_1.weight", {4, 1}, 3),
                                  make_param("encoder.LayerNorm.weight", {2, 2}, 4),
                                  make_param("model.layers.0.input_layernorm.weight", {2, 2}, 5),
                                  make_param("blocks.0.layer_norm.scale", {2, 2}, 6),
                                  make_param("xattn.0.gate_attn", {1}, 7),
                                  make_param("lm_head.weight", {3, 4}, 8),
                                  make_param("conv.bias", {2, 2}, 9),
                                  make_param("scale", {}, 10)};
  const std::vector<ParamGroup> groups = split_decay_groups(params, 0.05);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].weight_decay == 0.05);
  CHECK(groups[1].weight_decay == 0.0);
  auto names = [](const ParamGroup& g) {
    std::vector<std::string> out;
    for (const ParamRef& p : g.params) out.push_back(p.name);
    return out;
  };
  CHECK(names(groups[0]) == std::vector<std::string>{"h.0.attn.c_attn.weight", "lm_head.weight"});
  CHECK(names(groups[1]) ==
        std::vector<std::string>{"h.0.attn.c_attn.bias", "h.0.ln_1.weight", "encoder.LayerNorm.weight",
                                 "model.layers.0.input_layernorm.weight", "blocks.0.layer_norm.scale",
                                 "xattn.0.gate_attn", "conv.bias", "scale"});
  CHECK(groups[0].params[0].param.storage() == params[0].param.storage());  // no copies

  const std::vector<ParamGroup> custom =
      split_decay_groups(params, 0.1, [](const ParamRef& p) { return p.name.starts_with("h.0."); });
  CHECK(custom[1].params.size() == 3);
  CHECK(custom[0].params.size() == 7);
  CHECK(split_decay_groups({}, 0.1)[0].params.empty());
}

TEST_CASE("optim clip_grad_norm: torch semantics, and non-finite norms leave grads alone") {
  std::vector<ParamRef> params = {make_param("a", {3, 4}, 1), make_param("b", {100003}, 2)};
  fill_grads(params, 0);
  double sum = 0;
  for (const ParamRef& p : params)
    for (double g : p.grad.to_f64()) sum += g * g;
  const double norm = std::sqrt(sum);
  const std::vector<double> before_a = params[0].grad.to_f64();

  CHECK(clip_grad_norm(params, 1e6) == Approx(norm).epsilon(1e-12));  // below max_norm: untouched
  CHECK(params[0].grad.to_f64() == before_a);

  const double clipped_norm = clip_grad_norm(params, 2.0);
  CHECK(clipped_norm == Approx(norm).epsilon(1e-12));
  const double coef = 2.0 / (clipped_norm + 1e-6);
  const std::vector<double> after_a = params[0].grad.to_f64();
  for (size_t i = 0; i < after_a.size(); ++i)
    CHECK(after_a[i] == static_cast<float>(before_a[i] * static_cast<float>(coef)));
  CHECK(clip_grad_norm(params, 1e6) == Approx(2.0).epsilon(1e-6));

  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    fill_grads(params, 1);
    params[1].grad.data<float>()[5] = bad;
    const std::vector<double> a = params[0].grad.to_f64(), b = params[1].grad.to_f64();
    const double reported = clip_grad_norm(params, 1.0);
    CHECK_FALSE(std::isfinite(reported));
    CHECK(std::isnan(reported) == std::isnan(bad));
    CHECK(params[0].grad.to_f64() == a);
    const std::vector<double> b_after = params[1].grad.to_f64();
    for (size_t i = 0; i < b.size(); ++i)
      if (i != 5) REQUIRE(b_after[i] == b[i]);
  }

  CHECK_THROWS_WITH(clip_grad_norm(params, 0.0), Catch::Contains("max_norm = 0"));
  CHECK_THROWS_WITH(clip_grad_norm(params, std::numeric_limits<double>::infinity()), Catch::Contains("max_norm"));
  std::vector<ParamRef> no_grad = {{"w", Tensor::zeros({2}), Tensor()}};
  CHECK_THROWS_WITH(clip_grad_norm(no_grad, 1.0), Catch::Contains("grad of 'w' is undefined"));
}

TEST_CASE("optim resume from saved state is bit-exact") {
  const std::vector<ParamRef> params = {make_param("big.weight", {257, 300}, 1), make_param("w", {5, 3}, 2),
                                        make_param("b", {3}, 3)};
  // Every run starts from the same initial values in fresh tensors.
  auto fresh = [&] {
    std::vector<ParamRef> copy;
    for (const ParamRef& p : params) copy.push_back({p.name, p.param.clone(), Tensor::zeros(p.param.shape())});
    return copy;
  };
  SECTION("AdamW") {
    check_resume([&] { return std::make_unique<AdamW>(split_decay_groups(fresh(), 0.1), AdamWOptions{}); });
  }
  SECTION("SGD with nesterov momentum") {
    check_resume([&] { return std::make_unique<Sgd>(split_decay_groups(fresh(), 0.1), SgdOptions{0.9, true}); });
  }
}

TEST_CASE("optim state json records the step and hyper-parameters") {
  AdamW opt(split_decay_groups({make_param("w", {2, 3}, 1), make_param("b", {3}, 2)}, 0.01), {0.8, 0.95, 1e-7});
  fill_grads(opt.params(), 0);
  opt.step(0.1);
  opt.step(0.1);
  const json state = opt.state_json();
  CHECK(state["type"] == "AdamW");
  CHECK(state["step"] == 2);
  CHECK(state["beta1"] == 0.8);
  CHECK(state["beta2"] == 0.95);
  CHECK(state["eps"] == 1e-7);
  CHECK(state["groups"][0]["params"] == json::array({"w"}));
  CHECK(state["groups"][0]["weight_decay"] == 0.01);
  CHECK(state["groups"][1]["weight_decay"] == 0.0);
  std::vector<std::string> names;
  for (const auto& [name, t] : opt.state_tensors()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"w.exp_avg", "w.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"});

  // Loading takes the saved hyper-parameters, as torch's load_state_dict does.
  AdamW other(split_decay_groups({make_param("w", {2, 3}, 3), make_param("b", {3}, 4)}, 0.5));
  other.load_state(opt.state_tensors(), state);
  CHECK(other.options().beta1 == 0.8);
  CHECK(other.groups()[0].weight_decay == 0.01);
  CHECK(other.step_count() == 2);

  Sgd plain(split_decay_groups({make_param("w", {2, 3}, 1)}, 0.0));
  CHECK(plain.state_tensors().empty());
  CHECK(plain.state_json()["momentum"] == 0.0);
}

TEST_CASE("optim load_state rejects mismatched state and changes nothing") {
  auto make = [] { return AdamW(split_decay_groups({make_param("w", {2, 3}, 1), make_param("b", {3}, 2)}, 0.01)); };
  AdamW source = make();
  fill_grads(source.params(), 0);
  source.step(0.1);
  const NamedTensors tensors = source.state_tensors();
  const json state = source.state_json();

  AdamW target = make();
  auto expect_error = [&](const NamedTensors& t, const json& s, const std::string& message) {
    INFO(message);
    CHECK_THROWS_WITH(target.load_state(t, s), Catch::Contains(message));
    CHECK(target.step_count() == 0);
    for (const auto& [name, value] : target.state_tensors())
      CHECK(value.to_f64() == std::vector<double>(value.numel(), 0.0));
    CHECK(target.options().beta1 == 0.9);
  };

  NamedTensors missing(tensors.begin() + 1, tensors.end());
  expect_error(missing, state, "missing tensor 'w.exp_avg'");
  NamedTensors wrong_shape = tensors;
  wrong_shape[2].second = Tensor::zeros({4});
  expect_error(wrong_shape, state, "tensor 'b.exp_avg' is f32(4)");
  NamedTensors wrong_dtype = tensors;
  wrong_dtype[1].second = tensors[1].second.to(DType::bf16);
  expect_error(wrong_dtype, state, "tensor 'w.exp_avg_sq' is bf16(2,3)");
  NamedTensors extra = tensors;
  extra.emplace_back("w.momentum_buffer", Tensor::zeros({2, 3}));
  expect_error(extra, state, "unexpected tensor 'w.momentum_buffer'");
  NamedTensors twice = tensors;
  twice.push_back(tensors[0]);
  expect_error(twice, state, "tensor 'w.exp_avg' is given twice");
  NamedTensors undefined = tensors;
  undefined[0].second = Tensor();
  expect_error(undefined, state, "tensor 'w.exp_avg' is undefined");

  json s = state;
  s["type"] = "SGD";
  expect_error(tensors, s, "of type \"SGD\"");
  s = state;
  s.erase("beta2");
  expect_error(tensors, s, "no field 'beta2'");
  s = state;
  s["beta1"] = 1.5;
  expect_error(tensors, s, "beta1 = 1.5");
  s = state;
  s["eps"] = "small";
  expect_error(tensors, s, "field 'eps' is \"small\"");
  s = state;
  s["step"] = -3;
  expect_error(tensors, s, "field 'step' is -3");
  s = state;
  s["groups"].erase(1);
  expect_error(tensors, s, "the state has 1 groups, this optimizer 2");
  s = state;
  s["groups"][1]["params"] = json::array({"bias"});
  expect_error(tensors, s, "group 1 has parameter \"bias\" at position 0 in the state, 'b' here");
  s = state;
  s["groups"][1]["params"] = json::array({"b", "c"});
  expect_error(tensors, s, "group 1 of the state has parameter \"c\"");
  s = state;
  s["groups"][0]["params"] = json::array();
  expect_error(tensors, s, "parameter 'w' of group 0 is not in the state");
  s = state;
  s["groups"][0]["weight_decay"] = -1.0;
  expect_error(tensors, s, "weight_decay of group 0 = -1");
  expect_error(tensors, json::array(), "no field 'type'");

  Sgd momentum(split_decay_groups({make_param("w", {2, 3}, 1), make_param("b", {3}, 2)}, 0.01), {0.9, false});
  json sgd_state = momentum.state_json();
  sgd_state["momentum"] = 0.0;
  CHECK_THROWS_WITH(momentum.load_state(momentum.state_tensors(), sgd_state),
                    Catch::Contains("keeps no momentum buffers"));
  sgd_state = momentum.state_json();
  sgd_state["nesterov"] = 1;
  CHECK_THROWS_WITH(momentum.load_state(momentum.state_tensors(), sgd_state), Catch::Contains("'nesterov' is 1"));
}

TEST_CASE("optim constructors and step reject bad parameters and hyper-parameters") {
  auto groups = [](std::vector<ParamRef> params) { return split_decay_groups(std::move(params), 0.01); };
  CHECK_THROWS_WITH(AdamW(groups({make_param("w", {2, 2}, 1)}), {1.0, 0.999, 1e-8}), Catch::Contains("beta1 = 1"));
  CHECK_THROWS_WITH(AdamW(groups({make_param("w", {2, 2}, 1)}), {0.9, -0.1, 1e-8}), Catch::Contains("beta2 = -0.1"));
  CHECK_THROWS_WITH(AdamW(groups({make_param("w", {2, 2}, 1)}), {0.9, 0.999, -1.0}), Catch::Contains("eps = -1"));
  CHECK_THROWS_WITH(Sgd(groups({make_param("w", {2, 2}, 1)}), {0.0, true}), Catch::Contains("nesterov"));
  CHECK_THROWS_WITH(Sgd(groups({make_param("w", {2, 2}, 1)}), {-0.5, false}), Catch::Contains("momentum = -0.5"));
  CHECK_THROWS_WITH(AdamW(groups({make_param("w", {2, 2}, 1), make_param("w", {3}, 2)})),
                    Catch::Contains("parameter 'w' is listed twice"));
  CHECK_THROWS_WITH(AdamW(groups({{"w", Tensor::zeros({2, 2}), Tensor::zeros({4})}})),
                    Catch::Contains("grad of 'w' has shape (4), param (2,2)"));
  CHECK_THROWS_WITH(AdamW(groups({{"w", Tensor::zeros({2, 2}, DType::bf16), Tensor::zeros({2, 2})}})),
                    Catch::Contains("param of 'w' is bf16(2,2), not f32"));
  CHECK_THROWS_WITH(AdamW(groups({{"w", Tensor::zeros({2, 3}).transpose(0, 1), Tensor::zeros({3, 2})}})),
                    Catch::Contains("param of 'w' f32(3,2) is not contiguous"));
  CHECK_THROWS_WITH(AdamW(groups({{"w", Tensor(), Tensor::zeros({2})}})), Catch::Contains("param of 'w' is undefined"));
  std::vector<ParamGroup> bad = groups({make_param("w", {2, 2}, 1)});
  bad[0].weight_decay = -0.1;
  CHECK_THROWS_WITH(AdamW(bad), Catch::Contains("weight_decay of group 0 = -0.1"));
  bad = groups({make_param("w", {2, 2}, 1)});
  bad[1].lr_scale = std::nan("");
  CHECK_THROWS_WITH(Sgd(bad), Catch::Contains("lr_scale of group 1"));

  AdamW opt(groups({make_param("w", {2, 2}, 1)}));
  CHECK_THROWS_WITH(opt.step(-1.0), Catch::Contains("lr = -1"));
  CHECK_THROWS_WITH(opt.step(std::numeric_limits<double>::infinity()), Catch::Contains("lr = inf"));
  CHECK_THROWS_WITH(opt.step(0.1, std::nan("")), Catch::Contains("grad_scale = nan"));
  CHECK(opt.step_count() == 0);
}
