// Benchmark: training steps (forward, backward, AdamW) of the demo's vision-language model on the CPU backend
// in samples/s, against the same model in plain PyTorch eager (scripts/bench_train_torch.py), same thread count.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/reference_output.h"
#include "apps/train/demo_setup.h"
#include "fusion/training_loss.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/optim/optimizer.h"
#include "modules/random/rng.h"

using namespace hanvit;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The demo's model (apps/train/demo_setup.cpp at its defaults) and the benchmark's batch.
struct Options {
  int64_t batch = 32, tokens = 24;
  int64_t width = 128, layers = 3, vocab = 352;
  int64_t image = 0, patch = 0;  // from the demo's vision config (63 px, 21 px patches)
  std::string fusion = "gated:every=1,projector=linear";
  double lr = 2e-3, weight_decay = 0.01;
  int warmup = 2, steps = 5, reps = 5;  // reps of `steps` timed steps each; the median rep is reported
  bool profile = false;
  std::string python = "/usr/bin/python3";
  std::string script = HANVIT_SOURCE_DIR "/scripts/bench_train_torch.py";

  int64_t heads() const { return width / 32; }
};

// The demo's model at these options (apps/train/demo_setup.h), composed in a scratch folder; sets o.image and
// o.patch from its vision config.
fusion::ComposedModel demo_model(Options& o, ParameterStore& store) {
  app::DemoOptions demo;
  demo.out = (fs::temp_directory_path() / ("hanvit_bench_train_" + std::to_string(::getpid()))).string();
  demo.width = o.width;
  demo.layers = demo.vision_layers = o.layers;
  demo.vocab = static_cast<int32_t>(o.vocab);
  demo.fusion = o.fusion;
  fusion::ComposedModel composed = app::compose_demo_model(demo, "", store);
  fs::remove_all(demo.out);
  o.image = composed.loaded.config.vision.image_size;
  o.patch = composed.loaded.config.vision.patch_size;
  return composed;
}

// Fixed random pixels in [-1, 1) (B, 3, H, W), token ids (B, T) and next-token targets (B * T): every
// position after the first is a target, predicted from the one before it.
struct BatchTensors {
  Tensor pixels, ids, targets, positions;
};

BatchTensors random_batch(const Options& o) {
  Rng rng(7);
  BatchTensors b;
  b.pixels = Tensor::empty({o.batch, 3, o.image, o.image}, DType::f32);
  for (int64_t i = 0; i < b.pixels.numel(); ++i) b.pixels.data<float>()[i] = static_cast<float>(2 * rng.uniform() - 1);
  std::vector<int32_t> ids(static_cast<size_t>(o.batch * o.tokens)), targets(ids.size(), -100), positions;
  for (int32_t& id : ids) id = static_cast<int32_t>(rng.below(static_cast<uint64_t>(o.vocab)));
  for (int64_t r = 0; r < o.batch; ++r)
    for (int64_t t = 1; t < o.tokens; ++t)
      targets[static_cast<size_t>(r * o.tokens + t - 1)] = ids[static_cast<size_t>(r * o.tokens + t)];
  for (int64_t t = 0; t < o.tokens; ++t) positions.push_back(static_cast<int32_t>(t));
  b.ids = Tensor::from_vector<int32_t>({o.batch, o.tokens}, ids);
  b.targets = Tensor::from_vector<int32_t>({o.batch * o.tokens}, targets);
  b.positions = Tensor::from_vector<int32_t>({o.tokens}, positions);
  return b;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct TorchResult {
  double ms = -1;  // median per step
  long long params = -1, trained = -1;
  std::string line;
};

TorchResult torch_result(const Options& o, int threads, std::string& why) {
  const bench::ReferenceOutput out = bench::run_reference(
      o.python + " " + o.script + " --threads " + std::to_string(threads) + " --batch " + std::to_string(o.batch) +
      " --tokens " + std::to_string(o.tokens) + " --image " + std::to_string(o.image) + " --patch " +
      std::to_string(o.patch) + " --dim " + std::to_string(o.width) + " --layers " + std::to_string(o.layers) +
      " --heads " + std::to_string(o.heads()) + " --hidden " + std::to_string(o.width * 2) + " --vocab " +
      std::to_string(o.vocab) + " --lr " + std::to_string(o.lr) + " --weight-decay " + std::to_string(o.weight_decay) +
      " --warmup " + std::to_string(o.warmup) + " --steps " + std::to_string(o.steps) + " --reps " +
      std::to_string(o.reps));
  TorchResult r;
  const std::string* line = out.scan("torch_ms_per_step=%lf params=%lld trained=%lld", &r.ms, &r.params, &r.trained);
  if (line && out.failure.empty()) {
    r.line = *line;
  } else {
    why = out.why_missing();
    r.ms = -1;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--reps")
      o.reps = std::stoi(next());
    else if (arg == "--steps")
      o.steps = std::stoi(next());
    else if (arg == "--warmup")
      o.warmup = std::stoi(next());
    else if (arg == "--batch")
      o.batch = std::stoll(next());
    else if (arg == "--profile")
      o.profile = true;
    else if (arg == "--python")
      o.python = next();
    else if (arg == "--torch-script")
      o.script = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_train [--reps N] [--steps N] [--warmup N] [--batch B] [--profile] [--python PATH] "
                   "[--torch-script PATH]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  if (o.reps < 1 || o.steps < 1 || o.warmup < 0 || o.batch < 1) {
    std::fprintf(stderr, "bench_train: --reps, --steps and --batch must be positive, --warmup not negative\n");
    return 2;
  }
  const int threads = omp_get_max_threads();
  ParameterStore store(0);
  const fusion::ComposedModel composed = demo_model(o, store);
  const fusion::VisionLanguageModel& model = *composed.loaded.model;

  // The training graph, built once: loss, backward, one executor over the loss and every gradient.
  Graph g;
  fusion::TrainingInputs in;
  in.pixels = g.input("pixels", {o.batch, 3, o.image, o.image});
  in.ids = g.input("ids", {o.batch, o.tokens}, DType::i32);
  in.positions = g.input("positions", {o.tokens}, DType::i32);
  in.targets = g.input("targets", {o.batch * o.tokens}, DType::i32);
  const Var loss = fusion::training_loss(model, in);
  const Gradients grads = backward(loss);
  std::vector<Var> outputs{loss};
  for (const auto& [name, grad] : grads.by_name) outputs.push_back(grad);
  Executor exec(g, cpu_backend(), outputs, ExecutorOptions{.profile = o.profile});
  store.bind_all(exec, g);
  const BatchTensors batch = random_batch(o);
  exec.bind("pixels", batch.pixels);
  exec.bind("ids", batch.ids);
  exec.bind("targets", batch.targets);
  exec.bind("positions", batch.positions);

  // AdamW over the parameters the loss reaches (the ViT pooler is not used), gradients copied out of the
  // executor's arena as the trainer does.
  std::vector<ParamRef> params;
  std::vector<std::pair<Var, Tensor>> grad_buffers;
  long long param_count = 0, trained_count = 0;
  for (const std::string& name : store.names()) param_count += store.get(name).numel();
  for (const auto& [name, grad] : grads.by_name) {
    const Tensor& param = store.get(name);
    params.push_back({name, param, Tensor::zeros(param.shape())});
    grad_buffers.emplace_back(grad, params.back().grad);
    trained_count += param.numel();
  }
  AdamW optimizer(split_decay_groups(params, o.weight_decay));

  double run_ms = 0.0, update_ms = 0.0;  // over the timed steps
  auto train_step = [&](bool timed) {
    const Clock::time_point start = Clock::now();
    exec.run();
    const Clock::time_point ran = Clock::now();
    for (const auto& [grad, buffer] : grad_buffers)
      std::memcpy(buffer.data<float>(), exec.value(grad).data<float>(), buffer.nbytes());
    optimizer.step(o.lr);
    if (timed) run_ms += std::chrono::duration<double, std::milli>(ran - start).count(), update_ms += ms_since(ran);
  };
  for (int s = 0; s < o.warmup; ++s) train_step(false);
  const double first_loss = exec.value(loss).item();
  const std::vector<double> warm_op_seconds = o.profile ? exec.op_seconds() : std::vector<double>();
  std::vector<double> rep_ms;
  for (int r = 0; r < o.reps; ++r) {
    const Clock::time_point start = Clock::now();
    for (int s = 0; s < o.steps; ++s) train_step(true);
    rep_ms.push_back(ms_since(start) / o.steps);
  }
  const double ms = median(rep_ms), timed_steps = static_cast<double>(o.reps * o.steps);

  std::printf(
      "demo model: ViT %lld px / %lld px patches + LLaMA, C=%lld, %lld+%lld layers, %lld heads, vocab %lld, "
      "fusion %s; B=%lld T=%lld, AdamW, threads=%d\n",
      static_cast<long long>(o.image), static_cast<long long>(o.patch), static_cast<long long>(o.width),
      static_cast<long long>(o.layers), static_cast<long long>(o.layers), static_cast<long long>(o.heads()),
      static_cast<long long>(o.vocab), o.fusion.c_str(), static_cast<long long>(o.batch),
      static_cast<long long>(o.tokens), threads);
  std::printf("params=%lld trained=%lld loss=%.4f (after warmup) -> %.4f\n", param_count, trained_count, first_loss,
              exec.value(loss).item());
  std::printf(
      "hanvit_ms_per_step=%.2f (run %.2f, gradient copy + AdamW %.2f) samples_per_s=%.1f planned_peak_MiB=%.1f "
      "naive_MiB=%.1f\n",
      ms, run_ms / timed_steps, update_ms / timed_steps, o.batch * 1e3 / ms, exec.planned_peak_bytes() / 1048576.0,
      exec.naive_bytes() / 1048576.0);
  if (o.profile) {
    std::vector<std::pair<double, OpKind>> ranked;
    const std::vector<double> op_seconds = exec.op_seconds();
    for (size_t i = 0; i < kOpCount; ++i)
      if (op_seconds[i] > warm_op_seconds[i])
        ranked.emplace_back(op_seconds[i] - warm_op_seconds[i], static_cast<OpKind>(i));
    std::sort(ranked.rbegin(), ranked.rend());
    for (const auto& [seconds, op] : ranked)
      std::printf("  %-22s %9.2f ms/step\n", std::string(op_name(op)).c_str(), seconds * 1e3 / timed_steps);
  }

  std::string why;
  const TorchResult reference = torch_result(o, threads, why);
  if (reference.ms <= 0) {
    std::printf("reference unavailable: %s\n", why.c_str());
    return 1;
  }
  std::printf("%s", reference.line.c_str());
  std::printf("torch_samples_per_s=%.1f\n", o.batch * 1e3 / reference.ms);
  std::printf("speedup_vs_torch=%.2fx\n", reference.ms / ms);
  if (reference.params != param_count || reference.trained != trained_count) {
    std::printf("parameter counts differ: hanvit params=%lld trained=%lld, torch params=%lld trained=%lld\n",
                param_count, trained_count, reference.params, reference.trained);
    return 1;
  }
  return 0;
}
