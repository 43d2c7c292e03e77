// Optimizers on CUDA parameters against the same optimizers on the host: multi-tensor AdamW and
// SGD over odd sizes, more tensors than one launch takes, misaligned buffers, decay groups and
// grad_scale; clip_grad_norm; state save/load round trips; device mismatches. Every case skips
// with a message when no GPU is visible.
#ifdef HANVIT_WITH_CUDA
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "modules/backend/cuda/cuda_backend.h"
#include "modules/optim/optimizer.h"

using namespace hanvit;

namespace {

Tensor random_tensor(const Shape& shape, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(numel(shape)));
  for (float& v : values) v = normal(rng) * scale;
  return Tensor::from_vector<float>(shape, values);
}

// A copy of host tensor `host` on cuda:0; `misaligned` puts it one float into its allocation, so
// its data pointer is 4 bytes past a 16-byte boundary.
Tensor device_copy(const Tensor& host, bool misaligned = false) {
  CudaBackend& cuda = cuda_backend(0);
  if (!misaligned) return to_device(host, cuda);
  Tensor view(cuda.allocate(host.nbytes() + sizeof(float)), host.shape(), host.dtype(), 1);
  cuda.copy(host, view);
  return view;
}

// The same parameters (values, names, shapes) on the host and on cuda:0.
struct Twin {
  std::vector<ParamRef> host, device;
};

// Sizes 1, 3, 1000, 4099 and others (several chunks, a partial chunk, zero elements), a misaligned
// param and a misaligned grad, and 66 small tensors so that one launch cannot take them all.
Twin make_twin() {
  struct Spec {
    std::string name;
    Shape shape;
    bool misaligned_param = false, misaligned_grad = false;
  };
  std::vector<Spec> specs = {{"scale", {1}},
                             {"ln.bias", {3}},
                             {"a.weight", {10, 100}},
                             {"b.weight", {1, 4099}},
                             {"c.bias", {4099}},
                             {"big.weight", {300, 301}},
                             {"empty.weight", {0, 4}},
                             {"odd.weight", {7, 1001}, true, false},
                             {"odd2.weight", {5, 803}, false, true}};
  for (int i = 0; i < 66; ++i) specs.push_back({"extra." + std::to_string(i) + ".weight", {1, 1 + 3 * i}});
  Twin twin;
  uint32_t seed = 1;
  for (const Spec& s : specs) {
    const Tensor values = random_tensor(s.shape, seed++);
    twin.host.push_back({s.name, values.clone(), Tensor::zeros(s.shape)});
    twin.device.push_back(
        {s.name, device_copy(values, s.misaligned_param), device_copy(Tensor::zeros(s.shape), s.misaligned_grad)});
  }
  return twin;
}

// Fresh grads for `step`, the same on both sides.
void fill_grads(const Twin& twin, int step, float scale = 1.0f) {
  for (size_t i = 0; i < twin.host.size(); ++i) {
    const Tensor values = random_tensor(twin.host[i].grad.shape(), static_cast<uint32_t>(1000 * step + i + 7), scale);
    twin.host[i].grad.copy_from(values);
    cuda_backend(0).copy(values, twin.device[i].grad);
  }
}

// Decay groups (weight decay 0.1) with lr_scale 0.5 on the no-decay group.
std::vector<ParamGroup> groups_of(std::vector<ParamRef> params) {
  std::vector<ParamGroup> groups = split_decay_groups(std::move(params), 0.1);
  groups[1].lr_scale = 0.5;
  return groups;
}

// device (on cuda:0) equals host within `rel` relative; with `rms_floor`, values near zero are
// held to `rel` of the tensor's RMS (their error is set by the larger values they held before).
void require_close(const Tensor& device, const Tensor& host, double rel, bool rms_floor, const std::string& what) {
  INFO(what);
  REQUIRE(device.device() == Device::cuda(0));
  const std::vector<double> actual = to_host(device).to_f64(), expected = host.to_f64();
  REQUIRE(actual.size() == expected.size());
  double sum = 0.0;
  for (double e : expected) sum += e * e;
  const double floor = rms_floor && !expected.empty() ? std::sqrt(sum / static_cast<double>(expected.size())) : 0.0;
  size_t worst = 0;
  double worst_error = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double scale = std::max(std::abs(expected[i]), floor);
    const double error = actual[i] == expected[i] ? 0.0 : std::abs(actual[i] - expected[i]) / scale;
    if (!(error <= worst_error)) worst = i, worst_error = error;
  }
  if (actual.empty()) return;
  INFO("[" << worst << "]: " << actual[worst] << " vs " << expected[worst] << ", error " << worst_error);
  REQUIRE(worst_error <= rel);
}

void require_same_state(const Optimizer& device, const Optimizer& host) {
  const std::vector<ParamRef> d = device.params(), h = host.params();
  REQUIRE(d.size() == h.size());
  for (size_t k = 0; k < d.size(); ++k) {
    REQUIRE(d[k].name == h[k].name);
    require_close(d[k].param, h[k].param, 1e-6, true, d[k].name);
  }
  const NamedTensors ds = device.state_tensors(), hs = host.state_tensors();
  REQUIRE(ds.size() == hs.size());
  for (size_t k = 0; k < ds.size(); ++k) {
    REQUIRE(ds[k].first == hs[k].first);
    require_close(ds[k].second, hs[k].second, 1e-6, !ds[k].first.ends_with("exp_avg_sq"), ds[k].first);
  }
}

// Steps both optimizers with the same grads, lrs and grad scales.
void run_steps(const Twin& twin, Optimizer& host, Optimizer& device, int first, int count) {
  for (int step = first; step < first + count; ++step) {
    fill_grads(twin, step);
    const double lr = 0.01 * (1 + step % 3);
    const double grad_scale = step % 2 == 0 ? 1.0 : 0.25;
    host.step(lr, grad_scale);
    device.step(lr, grad_scale);
  }
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  const Tensor x = to_host(a), y = to_host(b);
  return x.shape() == y.shape() && std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

std::vector<ParamRef> device_clones(const std::vector<ParamRef>& params) {
  std::vector<ParamRef> out;
  for (const ParamRef& p : params)
    out.push_back({p.name, device_copy(to_host(p.param)), device_copy(Tensor::zeros(p.param.shape()))});
  return out;
}

}  // namespace

TEST_CASE("cuda/optim AdamW on the device matches the host over several steps") {
  if (hanvit::cuda_device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  const Twin twin = make_twin();
  const AdamWOptions options{0.85, 0.99, 1e-6};
  AdamW host(groups_of(twin.host), options), device(groups_of(twin.device), options);
  CHECK(host.device() == Device::cpu());
  CHECK(device.device() == Device::cuda(0));
  run_steps(twin, host, device, 0, 6);
  require_same_state(device, host);
}

TEST_CASE("cuda/optim SGD on the device matches the host over several steps") {
  if (hanvit::cuda_device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  for (const SgdOptions options : {SgdOptions{0.9, false}, SgdOptions{0.9, true}, SgdOptions{0.0, false}}) {
    INFO("momentum " << options.momentum << " nesterov " << options.nesterov);
    const Twin twin = make_twin();
    Sgd host(groups_of(twin.host), options), device(groups_of(twin.device), options);
    run_steps(twin, host, device, 0, 6);
    require_same_state(device, host);
  }
}

TEST_CASE("cuda/optim clip_grad_norm on the device matches the host") {
  if (hanvit::cuda_device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  const Twin twin = make_twin();
  fill_grads(twin, 0);
  auto relative = [](double a, double b) { return std::abs(a - b) / std::abs(b); };

  // Below max_norm: the norm only, grads untouched, the same bits on a re-run.
  const double host_norm = clip_grad_norm(twin.host, 1e6);
  const double device_norm = clip_grad_norm(twin.device, 1e6);
  CHECK(relative(device_norm, host_norm) <= 1e-9);
  CHECK(clip_grad_norm(twin.device, 1e6) == device_norm);
  for (size_t k = 0; k < twin.host.size(); ++k)
    require_close(twin.device[k].grad, twin.host[k].grad, 0.0, false, twin.host[k].name);

  // Clipped: every grad scaled by max_norm / (norm + 1e-6) in f32.
  CHECK(relative(clip_grad_norm(twin.device, 2.0), clip_grad_norm(twin.host, 2.0)) <= 1e-9);
  for (size_t k = 0; k < twin.host.size(); ++k)
    require_close(twin.device[k].grad, twin.host[k].grad, 1e-6, false, twin.host[k].name);
  CHECK(clip_grad_norm(twin.device, 1e6) == Approx(2.0).epsilon(1e-6));

  // A non-finite grad: the norm says so and no grad changes.
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    fill_grads(twin, 1);
    const ParamRef& big = twin.device[5];
    Tensor poisoned = to_host(big.grad);
    poisoned.data<float>()[1234] = bad;
    cuda_backend(0).copy(poisoned, big.grad);
    std::vector<Tensor> before;
    for (const ParamRef& p : twin.device) before.push_back(to_host(p.grad));
    const double reported = clip_grad_norm(twin.device, 1.0);
    CHECK_FALSE(std::isfinite(reported));
    CHECK(std::isnan(reported) == std::isnan(bad));
    for (size_t k = 0; k < twin.device.size(); ++k) CHECK(bit_equal(twin.device[k].grad, before[k]));
  }
}

TEST_CASE("cuda/optim state saved from the device restores exactly, on the device and from the host") {
  if (hanvit::cuda_device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  const Twin twin = make_twin();
  AdamW host(groups_of(twin.host)), device(groups_of(twin.device));
  run_steps(twin, host, device, 0, 3);
  for (const auto& [name, t] : device.state_tensors()) {
    INFO(name);
    CHECK(t.device() == Device::cuda(0));
  }

  // Saved to the host (as a checkpoint would be), restored into a fresh optimizer over copies of
  // the parameters: the next steps give the same bits as the optimizer that never stopped.
  NamedTensors saved;
  for (const auto& [name, t] : device.state_tensors()) saved.emplace_back(name, to_host(t));
  const nlohmann::json state = device.state_json();
  Twin resumed_twin{twin.host, device_clones(twin.device)};
  AdamW resumed(groups_of(resumed_twin.device));
  resumed.load_state(saved, state);
  CHECK(resumed.step_count() == 3);
  // Device tensors of the same device are taken as they are.
  Twin direct_twin{twin.host, device_clones(twin.device)};
  AdamW direct(groups_of(direct_twin.device));
  direct.load_state(device.state_tensors(), state);
  // The host optimizer's state continues on the device.
  Twin crossed_twin{twin.host, device_clones(twin.device)};
  for (size_t k = 0; k < twin.host.size(); ++k) cuda_backend(0).copy(twin.host[k].param, crossed_twin.device[k].param);
  AdamW crossed(groups_of(crossed_twin.device));
  crossed.load_state(host.state_tensors(), host.state_json());

  for (int step = 3; step < 6; ++step) {
    fill_grads(twin, step);
    for (const Twin* other : {&resumed_twin, &direct_twin, &crossed_twin})
      for (size_t k = 0; k < twin.device.size(); ++k) cuda_backend(0).copy(twin.device[k].grad, other->device[k].grad);
    for (Optimizer* opt : std::initializer_list<Optimizer*>{&host, &device, &resumed, &direct, &crossed})
      opt->step(0.02, 0.5);
  }
  for (const Optimizer* opt : {&resumed, &direct}) {
    const std::vector<ParamRef> a = opt->params(), b = device.params();
    for (size_t k = 0; k < a.size(); ++k) {
      INFO(a[k].name);
      CHECK(bit_equal(a[k].param, b[k].param));
    }
    const NamedTensors sa = opt->state_tensors(), sb = device.state_tensors();
    for (size_t k = 0; k < sa.size(); ++k) {
      INFO(sa[k].first);
      CHECK(bit_equal(sa[k].second, sb[k].second));
    }
  }
  require_same_state(crossed, host);

  NamedTensors wrong = saved;
  wrong[0].second = saved[0].second.to(DType::bf16);
  CHECK_THROWS_WITH(resumed.load_state(wrong, state),
                    Catch::Contains("tensor 'a.weight.exp_avg' is bf16(10,100) on cpu, expected f32(10,100) on cpu (or "
                                    "contiguous on cuda:0) like parameter 'a.weight'"));
}

TEST_CASE("cuda/optim rejects params and grads on different devices") {
  if (hanvit::cuda_device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  const Tensor values = random_tensor({2, 3}, 1);
  const std::vector<ParamRef> host_grad = {{"w", device_copy(values), Tensor::zeros({2, 3})}};
  CHECK_THROWS_WITH(AdamW(split_decay_groups(host_grad, 0.1)),
                    Catch::Contains("AdamW: grad of 'w' is on cpu, param of 'w' on cuda:0"));
  const std::vector<ParamRef> mixed = {{"a", device_copy(values), device_copy(values)},
                                       {"b", values.clone(), values.clone()}};
  CHECK_THROWS_WITH(Sgd(split_decay_groups(mixed, 0.1)),
                    Catch::Contains("SGD: param of 'b' is on cpu, param of 'a' on cuda:0"));
  CHECK_THROWS_WITH(clip_grad_norm(mixed, 1.0), Catch::Contains("clip_grad_norm: param of 'b' is on cpu"));
}

#endif  // HANVIT_WITH_CUDA
