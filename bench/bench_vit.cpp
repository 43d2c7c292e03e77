// Benchmark: a ViT-B/16 image encoder at 224 px (fresh random weights) forward on the CPU backend in
// images/s, against the same network in plain PyTorch eager, same thread count, in the same run.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "bench/reference_output.h"
#include "modules/exec/executor.h"
#include "modules/nn/parameter_store.h"
#include "vision/vision_transformer.h"

using namespace hanvit;
using namespace hanvit::vision;

namespace {

struct Options {
  int64_t batch = 8;
  int reps = 3;
  bool profile = false;
  std::string python = "/usr/bin/python3";
  std::string script = HANVIT_SOURCE_DIR "/scripts/bench_vit_torch.py";
};

double torch_ms(const Options& o, const VisionConfig& c, int threads, std::string& why) {
  const bench::ReferenceOutput out = bench::run_reference(
      o.python + " " + o.script + " --threads " + std::to_string(threads) + " --batch " + std::to_string(o.batch) +
      " --image " + std::to_string(c.image_size) + " --patch " + std::to_string(c.patch_size) + " --dim " +
      std::to_string(c.hidden_size) + " --layers " + std::to_string(c.num_layers) + " --heads " +
      std::to_string(c.num_heads) + " --hidden " + std::to_string(c.intermediate_size) + " --reps " +
      std::to_string(o.reps));
  double ms = -1;
  const std::string* line = out.scan("torch_ms=%lf", &ms);
  why = line && out.failure.empty() ? *line : out.why_missing();
  return out.failure.empty() ? ms : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--reps")
      o.reps = std::stoi(next());
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
                   "usage: bench_vit [--reps N] [--batch B] [--profile] [--python PATH] [--torch-script PATH]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  const int threads = omp_get_max_threads();
  const VisionConfig config;  // ViT-B/16 at 224 px: 12 layers, C=768, 12 heads, MLP 3072, 197 tokens
  VisionTransformer model(config);
  ParameterStore store(1);
  store.initialize(model);
  Graph g(false);
  const int64_t side = config.image_size;
  VisionOutputs out = model.forward(g.input("pixels", {o.batch, config.num_channels, side, side}));
  Executor exec(g, cpu_backend(), {out.last_hidden, out.pooled}, ExecutorOptions{.profile = o.profile});
  store.bind_all(exec, g);
  Tensor pixels = Tensor::empty({o.batch, config.num_channels, side, side}, DType::f32);
  for (int64_t i = 0; i < pixels.numel(); ++i)
    pixels.data<float>()[i] = static_cast<float>((i * 7919 % 1000) / 500.0 - 1.0);
  exec.bind("pixels", pixels);
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r <= o.reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    exec.run();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r > 0 || o.reps == 0) best = std::min(best, ms);
  }
  std::printf("vit B=%lld image=%lld patch=%lld C=%lld layers=%lld heads=%lld tokens=%lld, forward, threads=%d\n",
              static_cast<long long>(o.batch), static_cast<long long>(side), static_cast<long long>(config.patch_size),
              static_cast<long long>(config.hidden_size), static_cast<long long>(config.num_layers),
              static_cast<long long>(config.num_heads), static_cast<long long>(config.num_tokens()), threads);
  std::printf("hanvit_ms=%.3f images_per_s=%.2f planned_peak_MiB=%.1f naive_MiB=%.1f\n", best, o.batch * 1e3 / best,
              exec.planned_peak_bytes() / 1048576.0, exec.naive_bytes() / 1048576.0);
  if (o.profile) {
    std::vector<std::pair<double, OpKind>> ranked;
    for (size_t i = 0; i < kOpCount; ++i)
      if (exec.op_seconds()[i] > 0) ranked.emplace_back(exec.op_seconds()[i], static_cast<OpKind>(i));
    std::sort(ranked.rbegin(), ranked.rend());
    for (const auto& [seconds, op] : ranked)
      std::printf("  %-22s %9.2f ms/run\n", std::string(op_name(op)).c_str(), seconds * 1e3 / (o.reps + 1));
  }
  std::string why;
  const double reference = torch_ms(o, config, threads, why);
  if (reference > 0) {
    std::printf("%storch_images_per_s=%.2f\n", why.c_str(), o.batch * 1e3 / reference);
    std::printf("speedup_vs_torch=%.2fx\n", reference / best);
  } else {
    std::printf("reference unavailable: %s\n", why.c_str());
  }
  return 0;
}
